from __future__ import annotations

import io
import time
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from finai.context import Platform
from finai.datasets import LoanBook
from finai.security import Role
from finai.store import AuditEntryRow, CreditDecisionRow
from tests.conftest import MODEL, auth


def _applicants(book: LoanBook, n: int) -> list[dict[str, Any]]:
    rows = book.frame.head(n).to_dict(orient="records")
    return [{k: (None if v != v else v) for k, v in row.items()} for row in rows]


def _count(platform: Platform, table: type) -> int:
    with platform.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_decide_one_read_it_back_and_audit_it(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    body = {"model": MODEL, "applicant": _applicants(book, 1)[0], "applicant_ref": "A-1"}
    created = client.post("/v1/credit/decisions", json=body, headers=auth(tokens[Role.OPERATOR]))
    assert created.status_code == 201
    decision = created.json()
    assert decision["outcome"] in {"approve", "refer", "decline"}
    assert (decision["model_name"], decision["model_version"]) == (MODEL, 1)
    assert decision["policy_version"] == 1
    assert decision["applicant_ref"] == "A-1"
    assert 1 <= len(decision["reasons"]) <= 4
    assert all(r["text"] for r in decision["reasons"])
    again = client.post("/v1/credit/decisions", json=body, headers=auth(tokens[Role.OPERATOR]))
    same = {k: v for k, v in again.json().items() if k not in ("id", "created_at")}
    assert same == {k: v for k, v in decision.items() if k not in ("id", "created_at")}
    read = client.get(
        f"/v1/credit/decisions/{decision['id']}", headers=auth(tokens[Role.AUDITOR])
    ).json()
    assert read == decision
    with credit_platform.sessions() as session:
        actions = session.scalars(
            select(AuditEntryRow.object_id).where(AuditEntryRow.action == "credit.decision")
        ).all()
    assert decision["id"] in actions


def test_batch_is_stored_whole_with_one_audit_entry(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    body = {"model": f"{MODEL}:1", "applicants": _applicants(book, 50), "ref_field": "applicant_id"}
    response = client.post(
        "/v1/credit/decisions/batch", json=body, headers=auth(tokens[Role.ADMIN])
    )
    assert response.status_code == 201
    batch = response.json()
    assert batch["count"] == 50 == sum(batch["outcomes"].values())
    assert batch["data"][0]["applicant_ref"] == book.frame["applicant_id"].iloc[0]
    assert _count(credit_platform, CreditDecisionRow) == 50
    with credit_platform.sessions() as session:
        entries = session.scalars(
            select(AuditEntryRow).where(AuditEntryRow.action == "credit.decision.batch")
        ).all()
    assert [e.object_id for e in entries] == [batch["batch_id"]]


def test_a_bad_row_stores_nothing_from_the_batch(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    applicants = _applicants(book, 20)
    numeric = next(k for k, v in applicants[0].items() if isinstance(v, float))
    applicants[7][numeric] = "lots"
    before = (_count(credit_platform, CreditDecisionRow), _count(credit_platform, AuditEntryRow))
    response = client.post(
        "/v1/credit/decisions/batch",
        json={"model": MODEL, "applicants": applicants},
        headers=auth(tokens[Role.OPERATOR]),
    )
    assert response.status_code == 422
    assert numeric in response.json()["detail"]
    after = (_count(credit_platform, CreditDecisionRow), _count(credit_platform, AuditEntryRow))
    assert after == before


def test_bad_decision_requests(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    headers = auth(tokens[Role.OPERATOR])
    applicant = _applicants(book, 1)[0]
    unknown = client.post(
        "/v1/credit/decisions", json={"model": "nope", "applicant": applicant}, headers=headers
    )
    assert unknown.status_code == 404
    missing = dict(applicant)
    missing.pop("monthly_income")
    response = client.post(
        "/v1/credit/decisions", json={"model": MODEL, "applicant": missing}, headers=headers
    )
    assert response.status_code == 422
    assert "monthly_income" in response.json()["detail"]
    negative = {**applicant, "monthly_income": -5}
    response = client.post(
        "/v1/credit/decisions", json={"model": MODEL, "applicant": negative}, headers=headers
    )
    assert response.status_code == 422
    assert "negative" in response.json()["detail"]
    extra = client.post(
        "/v1/credit/decisions",
        json={"model": MODEL, "applicant": applicant, "surprise": 1},
        headers=headers,
    )
    assert extra.status_code == 422
    assert extra.json()["errors"][0]["field"] == "surprise"
    assert _count(credit_platform, CreditDecisionRow) == 0


def test_policy_read_update_and_refusal(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str]
) -> None:
    current = client.get("/v1/credit/policy", headers=auth(tokens[Role.OPERATOR])).json()
    assert current["version"] == 1
    assert current["policy"]["cutoffs"]["approve_below"] == 0.08
    stricter = current["yaml"].replace("approve_below: 0.08", "approve_below: 0.05")
    updated = client.put(
        "/v1/credit/policy", json={"yaml": stricter}, headers=auth(tokens[Role.ADMIN])
    )
    assert updated.json()["version"] == 2
    assert updated.json()["policy"]["cutoffs"]["approve_below"] == 0.05
    broken = current["yaml"].replace("approve_below: 0.08", "approve_below: 0.9")
    refused = client.put(
        "/v1/credit/policy", json={"yaml": broken}, headers=auth(tokens[Role.ADMIN])
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "cutoffs"
    latest = client.get("/v1/credit/policy", headers=auth(tokens[Role.AUDITOR])).json()
    assert latest["version"] == 2


def test_training_job_registers_a_model(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    data = io.BytesIO()
    book.frame.head(1_500).to_csv(data, index=False)
    response = client.post(
        "/v1/credit/models/train",
        headers=auth(tokens[Role.ANALYST]),
        files={"file": ("loans.csv", data.getvalue(), "text/csv")},
        data={
            "name": "uploaded",
            "target": "default",
            "id_column": "applicant_id",
            "protected": ["sex", "nationality"],
            "model": "scorecard",
        },
    )
    assert response.status_code == 202
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while True:
        job = client.get(f"/v1/credit/jobs/{job_id}", headers=auth(tokens[Role.ANALYST])).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    assert job["result"]["name"] == "uploaded"
    assert job["result"]["metrics"]["auc"] > 0.6
    versions = client.get("/v1/models/uploaded", headers=auth(tokens[Role.ANALYST])).json()
    assert versions["data"][0]["params"]["algorithm"] == "scorecard"
    assert "sex" in versions["data"][0]["params"]["spec"]["protected"]


def test_failed_training_job_registers_nothing(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    data = io.BytesIO()
    pd.DataFrame({"x": [1, 2, 3], "default": [0, 0, 0]}).to_csv(data, index=False)
    response = client.post(
        "/v1/credit/models/train",
        headers=auth(tokens[Role.ADMIN]),
        files={"file": ("loans.csv", data.getvalue(), "text/csv")},
        data={"name": "broken", "target": "default"},
    )
    job_id = response.json()["id"]
    job = client.get(f"/v1/credit/jobs/{job_id}", headers=auth(tokens[Role.ADMIN])).json()
    assert job["status"] == "failed"
    assert "default" in job["error"]
    assert client.get("/v1/models/broken", headers=auth(tokens[Role.ADMIN])).status_code == 404
    wrong = client.post(
        "/v1/credit/models/train",
        headers=auth(tokens[Role.ADMIN]),
        files={"file": ("loans.xlsx", b"x", "application/octet-stream")},
        data={"name": "broken", "target": "default"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "file"


def test_control_characters_in_applicant_data_are_refused(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    applicant = _applicants(book, 1)[0]
    for body in (
        {"model": MODEL, "applicant": applicant, "applicant_ref": "A\x00-1"},
        {"model": MODEL, "applicant": {**applicant, "region": "north\x00"}},
    ):
        response = client.post(
            "/v1/credit/decisions", json=body, headers=auth(tokens[Role.OPERATOR])
        )
        assert response.status_code == 422
    assert _count(credit_platform, CreditDecisionRow) == 0
