"""The challenger comparison and mitigation routes, and the shadow-failure metric."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from finai import credit, registry
from finai.context import Platform
from finai.credit.training import TrainResult
from finai.datasets import LoanBook
from finai.security import Role, audit
from tests.conftest import MODEL, auth

MITIGATIONS = "/v1/governance/mitigations"


def challenge_with_a_copy(platform: Platform, trained: TrainResult, book: LoanBook) -> None:
    """Register the champion's model again as v2 and make it the challenger."""
    with platform.sessions() as session:
        credit.register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=MODEL,
            result=trained,
            data=book.frame.head(10),
            actor="t",
        )
        registry.challenge(session, platform.audit_key, name=MODEL, version=2, actor="t")
        session.commit()


def applicant(book: LoanBook, i: int) -> dict[str, Any]:
    row: dict[str, Any] = json.loads(book.frame.iloc[[i]].to_json(orient="records"))[0]
    return {k: v for k, v in row.items() if k not in {"default", "applicant_id"}}


def test_comparison_counts_the_shadow_answers_of_live_decisions(
    client: TestClient,
    tokens: dict[Role, str],
    credit_platform: Platform,
    trained: TrainResult,
    book: LoanBook,
) -> None:
    challenge_with_a_copy(credit_platform, trained, book)
    for i in range(3):
        response = client.post(
            "/v1/credit/decisions",
            json={"model": MODEL, "applicant": applicant(book, i)},
            headers=auth(tokens[Role.OPERATOR]),
        )
        assert response.status_code == 201, response.text
    report = client.get(f"/v1/governance/challenger/{MODEL}", headers=auth(tokens[Role.AUDITOR]))
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["count"], body["challenger_version"], body["champion_versions"]) == (3, 2, [1])
    assert body["agreement"] == 1.0  # the same model answered in shadow
    assert body["psi"] == pytest.approx(0.0)
    assert body["auc_note"].startswith("too few outcomes")
    assert body["outcomes"] == ["approve", "refer", "decline"]
    assert sum(map(sum, body["table"])) == 3


@pytest.mark.parametrize("role", [Role.OPERATOR])
def test_comparison_is_for_readers(
    client: TestClient, tokens: dict[Role, str], credit_platform: Platform, role: Role
) -> None:
    response = client.get(f"/v1/governance/challenger/{MODEL}", headers=auth(tokens[role]))
    assert response.status_code == 403


def test_comparison_of_an_unknown_model_is_a_404_problem(
    client: TestClient, tokens: dict[Role, str], platform: Platform
) -> None:
    response = client.get("/v1/governance/challenger/nope", headers=auth(tokens[Role.ANALYST]))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_broken_challenger_is_counted_and_the_decision_still_made(
    client: TestClient, tokens: dict[Role, str], credit_platform: Platform, book: LoanBook
) -> None:
    with credit_platform.sessions() as session:  # a challenger whose artifact cannot load
        registry.register(
            session, credit_platform.audit_key, credit_platform.artifact_dir,
            name=MODEL, model=b"not a model", kind=credit.KIND, actor="t",
        )  # fmt: skip
        registry.challenge(session, credit_platform.audit_key, name=MODEL, version=2, actor="t")
        session.commit()
    response = client.post(
        "/v1/credit/decisions",
        json={"model": MODEL, "applicant": applicant(book, 0)},
        headers=auth(tokens[Role.OPERATOR]),
    )
    assert response.status_code == 201, response.text
    assert response.json()["model_version"] == 1
    metrics = client.get("/metrics").text
    assert f'finai_credit_shadow_failures_total{{model="{MODEL}"}} 1.0' in metrics


def mitigation_body(book: LoanBook, **changes: Any) -> dict[str, Any]:
    rows: list[dict[str, Any]] = json.loads(book.frame.head(1200).to_json(orient="records"))
    return {
        "model": MODEL,
        "rows": rows,
        "target": "default",
        "protected": ["age:25,40", "sex"],
        "constraint": "demographic_parity",
        **changes,
    }


def test_a_mitigation_registers_a_candidate_with_its_tradeoff(
    client: TestClient, tokens: dict[Role, str], credit_platform: Platform, book: LoanBook
) -> None:
    response = client.post(
        MITIGATIONS,
        json=mitigation_body(book, name="pd-fair"),
        headers=auth(tokens[Role.ANALYST]),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["candidate"] == "pd-fair:1"
    assert body["reference"] == f"{MODEL}:1"
    assert [row["model"] for row in body["tradeoff"]] == ["reference", "unconstrained", "mitigated"]
    assert body["split"] == {
        "train_rows": 840, "holdout_rows": 360, "holdout_share": 0.3,
        "stratified_by": "target", "seed": 42,
    }  # fmt: skip
    with credit_platform.sessions() as session:
        version = registry.get_version(session, "pd-fair")
        entries = audit.entries(session, action="model.mitigate")
    assert version.stage == registry.Stage.CANDIDATE
    assert version.metrics["tradeoff"]["tradeoff"][2] == body["tradeoff"][2]
    assert [e.object_id for e in entries] == ["pd-fair:1"]


def test_mitigation_is_for_model_writers_and_refuses_bad_input(
    client: TestClient, tokens: dict[Role, str], credit_platform: Platform, book: LoanBook
) -> None:
    denied = client.post(
        MITIGATIONS, json=mitigation_body(book), headers=auth(tokens[Role.OPERATOR])
    )
    assert denied.status_code == 403
    wrong = client.post(
        MITIGATIONS,
        json=mitigation_body(book, constraint="threshold"),
        headers=auth(tokens[Role.ANALYST]),
    )
    assert wrong.status_code == 422
    missing = client.post(
        MITIGATIONS,
        json=mitigation_body(book, protected=["religion"]),
        headers=auth(tokens[Role.ANALYST]),
    )
    assert missing.status_code == 422
    assert "religion" in missing.json()["detail"]
    with credit_platform.sessions() as session:
        assert [v.version for v in registry.list_versions(session, MODEL)] == [1]
