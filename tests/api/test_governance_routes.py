"""The governance API: fairness reports (recorded in the audit chain) and explanations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from finai import credit, fraud, governance, registry
from finai.cli import app as cli_app
from finai.config import get_settings
from finai.context import Platform
from finai.datasets import LoanBook
from finai.security import Role, audit
from finai.store import ModelCardRow
from tests.conftest import MODEL, TEST_SECRET, auth
from tests.fraud.simulations import trained

FAIRNESS = "/v1/governance/fairness"
ROWS = 400


def rows(book: LoanBook, n: int = ROWS) -> list[dict[str, Any]]:
    """The first ``n`` loans as JSON carries them (missing values as null)."""
    records: list[dict[str, Any]] = json.loads(book.frame.head(n).to_json(orient="records"))
    return records


def body(book: LoanBook, **changes: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "rows": rows(book),
        "target": "default",
        "bad": "1",
        "protected": ["age:25,40", "sex"],
        "resamples": 40,
        "seed": 5,
        **changes,
    }


def fairness_entries(platform: Platform) -> list[audit.AuditEntry]:
    with platform.sessions() as session:
        return audit.entries(session, action=governance.FAIRNESS_ACTION)


def test_fairness_answers_the_cli_report_and_records_its_summary(
    client: TestClient, tokens: dict[Role, str], credit_platform: Platform, book: LoanBook
) -> None:
    response = client.post(FAIRNESS, json=body(book), headers=auth(tokens[Role.ANALYST]))
    assert response.status_code == 200, response.text
    report = response.json()
    frame = pd.DataFrame(rows(book))
    with credit_platform.sessions() as session:
        expected = governance.model_fairness_report(
            session, credit_platform.artifact_dir, frame, model_ref=MODEL, target="default",
            protected=["age:25,40", "sex"], bad="1", resamples=40, seed=5,
        ).to_dict()  # fmt: skip
    assert report == json.loads(json.dumps(expected))
    assert list(report["disparate_impact"]) == ["age", "sex", "age & sex"]
    [entry] = fairness_entries(credit_platform)
    assert (entry.object_type, entry.object_id) == ("model_version", f"{MODEL}:1")
    assert entry.payload == {
        "data_fingerprint": registry.fingerprint(frame),
        "attributes": {
            name: {
                "ratio": impact["ratio"],
                "interval": impact["interval"],
                "passes_four_fifths": impact["passes_four_fifths"],
            }
            for name, impact in report["disparate_impact"].items()
        },
    }
    with credit_platform.sessions() as session:
        [recorded] = governance.recorded_fairness(session, MODEL, [1, 2])
    assert recorded.model == f"{MODEL}:1" and recorded.seq == entry.seq
    assert [a.name for a in recorded.attributes] == ["age", "age & sex", "sex"]  # sorted
    assert recorded.attributes[0].ratio == report["disparate_impact"]["age"]["ratio"]
    with credit_platform.sessions() as session:  # the stored card follows the new report
        stored = session.scalars(select(ModelCardRow.markdown)).all()
    assert len(stored) == 1 and "No fairness report" not in stored[0]


def test_the_cli_records_the_same_summary(
    credit_platform: Platform,
    book: LoanBook,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "loans.csv"
    book.frame.head(ROWS).to_csv(path, index=False)
    monkeypatch.setenv("FINAI_DATABASE_URL", credit_platform.settings.db_url)
    monkeypatch.setenv("FINAI_HOME", str(credit_platform.settings.home))
    monkeypatch.setenv("FINAI_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("FINAI_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli_app,
            ["governance", "fairness", "--model", MODEL, "--data", str(path), "--target",
             "default", "--bad", "1", "--protected", "sex", "--resamples", "30", "--json"],
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    [entry] = fairness_entries(credit_platform)
    assert entry.actor == "cli"
    assert entry.payload["data_fingerprint"] == registry.fingerprint(credit.load_table(path))
    assert entry.payload["attributes"] == {
        "sex": {key: report["disparate_impact"]["sex"][key] for key in
                ("ratio", "interval", "passes_four_fifths")},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.AUDITOR, 200), (Role.OPERATOR, 403)],
)
def test_fairness_is_for_model_writers_and_auditors(
    client: TestClient,
    tokens: dict[Role, str],
    credit_platform: Platform,
    book: LoanBook,
    role: Role,
    status: int,
) -> None:
    small = body(book, rows=rows(book, 120), protected=["sex"], resamples=5)
    response = client.post(FAIRNESS, json=small, headers=auth(tokens[role]))
    assert response.status_code == status
    assert len(fairness_entries(credit_platform)) == (1 if status == 200 else 0)
    assert client.post(FAIRNESS, json=small).status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"protected": ["religion"]}, "religion"),
        ({"target": "nope"}, "nope"),
        ({"model": "missing-model"}, None),
        ({"protected": []}, "protected"),
        ({"rows": []}, "rows"),
        ({"resamples": 0}, "resamples"),
        ({"colour": "red"}, "colour"),
        ({"rows": [{"age": [1, 2]}]}, "rows"),
    ],
)
def test_bad_requests_are_refused_and_record_nothing(
    client: TestClient,
    tokens: dict[Role, str],
    credit_platform: Platform,
    book: LoanBook,
    changes: dict[str, Any],
    field: str | None,
) -> None:
    request = body(book, **{"rows": rows(book, 60), **changes})
    response = client.post(FAIRNESS, json=request, headers=auth(tokens[Role.ADMIN]))
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert field in json.dumps(response.json())
    assert fairness_entries(credit_platform) == []


def test_a_fraud_model_has_no_fairness_report(
    client: TestClient, tokens: dict[Role, str], platform: Platform, book: LoanBook
) -> None:
    register_fraud(platform)
    response = client.post(
        FAIRNESS, json=body(book, model="demo-fraud"), headers=auth(tokens[Role.ADMIN])
    )
    assert response.status_code == 422
    assert "not a credit model" in response.json()["detail"]


def register_fraud(platform: Platform) -> None:
    with platform.sessions() as session:
        fraud.register_model(
            session, platform.audit_key, platform.artifact_dir, name="demo-fraud",
            result=trained(), actor="t",
        )  # fmt: skip
        session.commit()


def test_explanations_of_a_credit_model(
    client: TestClient, tokens: dict[Role, str], credit_platform: Platform
) -> None:
    response = client.get(
        f"/v1/governance/explanations/{MODEL}?version=1&top=2&grid=6",
        headers=auth(tokens[Role.AUDITOR]),
    )
    assert response.status_code == 200, response.text
    data = response.json()
    with credit_platform.sessions() as session:
        expected = governance.model_explanation(
            session, credit_platform.artifact_dir, f"{MODEL}:1", top=2, grid=6
        )
    assert data == json.loads(json.dumps(expected.to_dict()))
    assert data["model"] == f"{MODEL}:1" and data["sample_rows"] is None
    assert len(data["partial_dependence"]) == 2
    if data["algorithm"] == "gbm":
        assert data["importance"] and data["information_values"] == []
    else:
        assert data["information_values"] and data["importance"] == []


def test_explanations_of_a_fraud_model(
    client: TestClient, tokens: dict[Role, str], platform: Platform
) -> None:
    register_fraud(platform)
    response = client.get(
        "/v1/governance/explanations/demo-fraud", headers=auth(tokens[Role.ANALYST])
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["kind"] == fraud.KIND and data["algorithm"] == "lightgbm"
    assert all(f["mean_abs_contribution"] is None for f in data["importance"])
    assert {c["unit"] for c in data["partial_dependence"]} == {"log-odds of fraud"}


def test_explanations_permissions_and_errors(
    client: TestClient, tokens: dict[Role, str], credit_platform: Platform
) -> None:
    url = f"/v1/governance/explanations/{MODEL}"
    assert client.get(url, headers=auth(tokens[Role.OPERATOR])).status_code == 403
    assert client.get(url).status_code == 401
    missing = client.get(f"{url}?version=9", headers=auth(tokens[Role.ADMIN]))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get(f"{url}?top=0", headers=auth(tokens[Role.ADMIN])).status_code == 422
