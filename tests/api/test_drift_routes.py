"""The drift API: stored checks of a model, a check run now, and the scheduled cycle."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from finai import credit, governance, registry
from finai.api.app import create_app
from finai.context import Platform
from finai.datasets import LoanBook
from finai.security import Role, audit
from tests.conftest import MODEL, auth

CHECKS = "/v1/governance/drift/checks"
LIST = "/v1/governance/drift"


def decide(platform: Platform, book: LoanBook, n: int = 60) -> None:
    with platform.sessions() as session:
        credit.decide_and_record(
            session, platform.audit_key, platform.artifact_dir, book.frame.head(n),
            model_ref=MODEL, actor="t",
        )  # fmt: skip
        session.commit()


def test_run_a_check_and_list_it(
    client: TestClient, tokens: dict[Role, str], credit_platform: Platform, book: LoanBook
) -> None:
    decide(credit_platform, book)
    response = client.post(
        CHECKS, json={"model": MODEL, "days": 2}, headers=auth(tokens[Role.ANALYST])
    )
    assert response.status_code == 201, response.text
    check = response.json()
    with credit_platform.sessions() as session:
        stored = governance.list_checks(session, MODEL)[0]
        key_id = audit.entries(session, action="model.drift_check")[0].actor
    assert check["id"] == stored.id
    assert (check["model"], check["version"], check["rows"]) == (MODEL, 1, 60)
    assert check["score"] == {"psi": stored.report.score.psi, "band": stored.report.score.band}
    assert [f["feature"] for f in check["features"]] == [f.feature for f in stored.report.features]
    assert check["status"] == stored.report.status
    assert check["source"] == "stored" and check["actor"] == key_id
    start = datetime.fromisoformat(check["window_start"])
    assert datetime.fromisoformat(check["window_end"]) - start == timedelta(days=2)

    again = client.post(CHECKS, json={"model": f"{MODEL}:1"}, headers=auth(tokens[Role.ADMIN]))
    assert again.status_code == 201, again.text
    listed = client.get(LIST, params={"model": MODEL}, headers=auth(tokens[Role.AUDITOR]))
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == 2
    assert [c["id"] for c in listed.json()["data"]] == [again.json()["id"], check["id"]]
    one = client.get(LIST, params={"model": MODEL, "limit": 1}, headers=auth(tokens[Role.ANALYST]))
    assert [c["id"] for c in one.json()["data"]] == [again.json()["id"]]


def test_refusals(
    client: TestClient, tokens: dict[Role, str], credit_platform: Platform, book: LoanBook
) -> None:
    analyst = auth(tokens[Role.ANALYST])
    none = client.post(CHECKS, json={"model": MODEL}, headers=analyst)
    assert none.status_code == 404
    assert none.headers["content-type"].startswith("application/problem+json")
    assert "no stored decision" in none.json()["detail"]
    assert client.post(CHECKS, json={"model": "nobody"}, headers=analyst).status_code == 404
    with credit_platform.sessions() as session:
        registry.register(
            session, credit_platform.audit_key, credit_platform.artifact_dir,
            name="fraudish", model={"not": "credit"}, kind="fraud.model", actor="t",
        )  # fmt: skip
        session.commit()
    wrong = client.post(CHECKS, json={"model": "fraudish"}, headers=analyst)
    assert wrong.status_code == 422 and "not a credit model" in wrong.json()["detail"]
    for body in ({"model": MODEL, "days": 0}, {"model": MODEL, "extra": 1}, {}):
        assert client.post(CHECKS, json=body, headers=analyst).status_code == 422
    decide(credit_platform, book, 5)
    operator = auth(tokens[Role.OPERATOR])
    assert client.post(CHECKS, json={"model": MODEL}, headers=operator).status_code == 403
    assert client.get(LIST, params={"model": MODEL}, headers=operator).status_code == 403
    assert client.get(LIST, params={"model": "nobody"}, headers=analyst).status_code == 404
    assert client.get(LIST, headers=analyst).status_code == 422
    with credit_platform.sessions() as session:
        assert governance.list_checks(session, MODEL) == []


def test_app_runs_one_scheduled_cycle(credit_platform: Platform, book: LoanBook) -> None:
    decide(credit_platform, book, 20)
    with TestClient(create_app(credit_platform)) as client:
        schedule = client.app.state.drift_schedule  # type: ignore[attr-defined]
        assert schedule.enabled
        checks = schedule.run_once()
        assert [(c.report.model, c.source) for c in checks] == [(MODEL, "scheduled")]
        assert schedule.run_once() == []  # not due again within the interval
    assert schedule._thread is None  # stopped at shutdown
