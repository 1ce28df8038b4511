from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from finai import credit, governance
from finai.context import Platform
from finai.credit.training import TrainResult
from finai.datasets import LoanBook
from finai.security import Role
from finai.store import AuditEntryRow, CreditDecisionRow, JobRow
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
    # Auditors read the decision as stored: reasons without the applicant's values.
    assert {k: v for k, v in read.items() if k != "reasons"} == {
        k: v for k, v in decision.items() if k != "reasons"
    }
    assert [(r["feature"], r["contribution"]) for r in read["reasons"]] == [
        (r["feature"], r["contribution"]) for r in decision["reasons"]
    ]
    assert all(r["value"] is None for r in read["reasons"])
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
    assert response.json()["errors"][0]["field"] == "monthly_income"
    cases = [
        ({"monthly_income": -5}, "negative", "monthly_income"),
        ({"monthly_income": "lots"}, "text", "monthly_income"),
        ({"employment_years": "many", "loan_amount": True}, "text", "employment_years"),
    ]
    for change, words, field in cases:
        response = client.post(
            "/v1/credit/decisions",
            json={"model": MODEL, "applicant": {**applicant, **change}},
            headers=headers,
        )
        assert response.status_code == 422, (change, response.text)
        assert words in response.json()["detail"]
        assert response.json()["errors"][0]["field"] == field
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
    with credit_platform.sessions() as session:
        card = governance.model_card(session, "uploaded", 1)
    assert card.written_by == tokens[Role.ANALYST].split("_")[1]  # stored with the version


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


def _wait(client: TestClient, token: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = client.get(f"/v1/credit/jobs/{job_id}", headers=auth(token)).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


TRAIN_SPEC = """\
target: default
id: applicant_id
drop: [region]
protected: [sex, nationality]
monotone: {monthly_debt: 1}
labels:
  monthly_income: Monthly income
  purpose: Loan purpose
"""


def test_training_job_reads_a_yaml_spec_and_fields_replace_its_values(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    data = io.BytesIO()
    book.frame.head(1_500).to_csv(data, index=False)
    response = client.post(
        "/v1/credit/models/train",
        headers=auth(tokens[Role.ANALYST]),
        files={"file": ("loans.csv", data.getvalue(), "text/csv")},
        data={
            "name": "from-spec",
            "spec": TRAIN_SPEC,
            "protected": ["age", "sex", "nationality"],
            "categorical": ["term_months"],
            "monotone": ["monthly_income=-1", "prior_defaults=+1"],
            "model": "scorecard",
        },
    )
    assert response.status_code == 202, response.text
    job = _wait(client, tokens[Role.ANALYST], response.json()["id"])
    assert job["status"] == "succeeded", job
    versions = client.get("/v1/models/from-spec", headers=auth(tokens[Role.ANALYST])).json()
    spec = versions["data"][0]["params"]["spec"]
    assert spec["protected"] == ["age", "sex", "nationality"]
    assert spec["drop"] == ["region"] and spec["id"] == "applicant_id"
    assert "term_months" in spec["categorical"]
    assert spec["monotone"] == {"monthly_income": -1, "prior_defaults": 1}
    assert spec["labels"] == {"monthly_income": "Monthly income", "purpose": "Loan purpose"}
    with credit_platform.sessions() as session:
        _info, model = credit.load_model(session, credit_platform.artifact_dir, "from-spec")
    assert model.spec.labels == spec["labels"]
    assert "age" not in model.spec.features


def test_training_requests_with_a_bad_spec_are_refused_before_any_job(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str]
) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"spec": "target: [default\n"}, "spec", "cannot read spec: expected ','"),
        ({"spec": "- default\n"}, "spec", "spec must be a YAML mapping"),
        ({"spec": "target: default\ncolour: red\n"}, "colour", "unknown spec keys 'colour'"),
        ({"spec": "drop: [region]\n"}, "target", "spec needs target"),
        ({}, "target", "spec needs target"),
        (
            {"target": "default", "numeric": ["age"], "categorical": ["age"]},
            "numeric",
            "column 'age' cannot be both categorical and numeric",
        ),
        (
            {"spec": "target: default\nnumeric: [age]\n", "categorical": ["age"]},
            "numeric",
            "cannot be both categorical and numeric",
        ),
        (
            {"target": "default", "id_column": "age", "protected": ["age"]},
            "protected",
            "cannot be both id and protected",
        ),
        ({"target": "default", "drop": ["default"]}, "drop", "cannot be both target and drop"),
        ({"target": "default", "monotone": ["age"]}, "monotone", "the entry 'age' does not read"),
        ({"target": "default", "monotone": ["age=2"]}, "monotone", "must be \\+1 or -1"),
        (
            {"spec": "target: default\nlabels: {default: Outcome}\n"},
            "default",
            "only feature and protected columns take labels",
        ),
        (
            {"spec": "target: default\nlabels: {age: " + "x" * 81 + "}\n"},
            "age",
            "at most 80",
        ),
        ({"target": "default", "drop": ["a\x00b"]}, "drop.0", ""),
        ({"target": "default\x01"}, "target", ""),
        ({"target": "default", "monotone": ["age\x00=1"]}, "monotone.0", ""),
    ]
    for fields, field, words in cases:
        response = client.post(
            "/v1/credit/models/train",
            headers=auth(tokens[Role.ANALYST]),
            files={"file": ("loans.csv", b"default,age\n0,30\n1,40\n", "text/csv")},
            data={"name": "refused", **fields},
        )
        assert response.status_code == 422, (fields, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["errors"][0]["field"] == field, (fields, problem)
        assert re.search(words, problem["detail"]), (fields, problem)
    assert _count(credit_platform, JobRow) == 0
    assert not list((credit_platform.settings.home / "uploads").glob("*"))


def test_the_openapi_schema_offers_the_spec_fields(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/credit/models/train"]["post"]["requestBody"]
    ref = body["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    form = schema["components"]["schemas"][ref]
    assert {"spec", "categorical", "numeric", "monotone"} <= set(form["properties"])
    assert set(form["required"]) == {"file", "name"}


def test_the_under_18_knockout_applies_though_age_is_not_a_feature(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    # The test model is trained like the demo model: on a loan book with its spec.
    with credit_platform.sessions() as session:
        _info, model = credit.load_model(session, credit_platform.artifact_dir, MODEL)
    assert "age" in model.spec.protected and "age" not in model.spec.features
    applicant = {**_applicants(book, 1)[0], "age": 17}
    response = client.post(
        "/v1/credit/decisions",
        json={"model": MODEL, "applicant": applicant},
        headers=auth(tokens[Role.OPERATOR]),
    )
    assert response.status_code == 201, response.text
    decision = response.json()
    assert decision["knockouts"] == ["under_18"]
    assert decision["outcome"] == "decline"
    assert decision["reasons"][0]["text"] == "Applicants must be at least 18 years old"
    adult = {**applicant, "age": 40}
    scored = client.post(
        "/v1/credit/decisions",
        json={"model": MODEL, "applicant": adult},
        headers=auth(tokens[Role.OPERATOR]),
    ).json()
    assert scored["knockouts"] == []
    assert scored["pd"] == decision["pd"]


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


def test_decisions_follow_policy_updates_and_promotions(
    credit_platform: Platform,
    client: TestClient,
    tokens: dict[Role, str],
    book: LoanBook,
    trained: TrainResult,
) -> None:
    operator, admin = auth(tokens[Role.OPERATOR]), auth(tokens[Role.ADMIN])
    body = {"model": MODEL, "applicant": _applicants(book, 1)[0]}
    first = client.post("/v1/credit/decisions", json=body, headers=operator).json()
    assert (first["model_version"], first["policy_version"]) == (1, 1)
    stricter = credit.DEFAULT_POLICY.replace("approve_below: 0.08", "approve_below: 0.05")
    assert client.put("/v1/credit/policy", json={"yaml": stricter}, headers=admin).is_success
    second = client.post("/v1/credit/decisions", json=body, headers=operator).json()
    assert second["policy_version"] == 2  # the next decision, no waiting
    with credit_platform.sessions() as session:
        credit.register_model(
            session,
            credit_platform.audit_key,
            credit_platform.artifact_dir,
            name=MODEL,
            result=trained,
            data=book.frame,
            actor="t",
        )
        session.commit()
    pinned = client.post(
        "/v1/credit/decisions", json={**body, "model": f"{MODEL}:2"}, headers=operator
    ).json()
    assert pinned["model_version"] == 2
    approval = {"comment": "v2 reviewed"}
    approved = client.post(f"/v1/models/{MODEL}/versions/2/approve", json=approval, headers=admin)
    assert approved.status_code == 201, approved.text
    promoted = client.post(f"/v1/models/{MODEL}/versions/2/promote", headers=admin)
    assert promoted.status_code == 200, promoted.text
    # the service looks the champion up again at most every 2 s; make it look now
    decider: credit.Decider = client.app.state.credit_decider  # type: ignore[attr-defined]
    client.app.state.credit_decider = credit.Decider(  # type: ignore[attr-defined]
        decider.artifact_dir, refresh=timedelta(0)
    )
    third = client.post("/v1/credit/decisions", json=body, headers=operator).json()
    assert third["model_version"] == 2
