"""The applicant's values named by reasons are personal: sealed with the person, or not kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from finai import credit
from finai.context import Platform
from finai.credit.personal import with_values
from finai.credit.records import WITHHELD, as_stored, withhold_values
from finai.datasets import LoanBook
from finai.exceptions import IntegrityError
from finai.security import Role, audit
from finai.security.idempotency import SEALED
from finai.store import AuditEntryRow, CreditApplicantRow, CreditDecisionRow, IdempotencyRow
from tests.api.test_credit_routes import _applicants, _count
from tests.conftest import MODEL, auth

INCOME = 271.8281
INCOME_TEXT = "271.828"  # as a reason reads it (six significant digits)
PERSON = {"national_id": "RV-4471-Q", "name": "Ottoline Fenwick-Bramble"}


def _body(book: LoanBook, **personal: Any) -> dict[str, Any]:
    applicant = {**_applicants(book, 1)[0], "monthly_income": INCOME}
    body: dict[str, Any] = {"model": MODEL, "applicant": applicant}
    if personal:
        body["personal"] = personal
    return body


def _income(reasons: list[dict[str, Any]]) -> dict[str, Any]:
    [found] = [r for r in reasons if r["feature"] == "monthly_income"]
    return found


def _stored_reasons(platform: Platform, decision_id: str) -> list[dict[str, Any]]:
    with platform.sessions() as session:
        row = session.get(CreditDecisionRow, decision_id)
        assert row is not None
        return list(row.reasons)


# -- what a decision row keeps ---------------------------------------------------------


def test_stored_reasons_keep_feature_contribution_and_a_text_without_the_value() -> None:
    reasons = (
        credit.Reason(
            "monthly_income", "2362.64", 46.2, "Income (2362.64) lowered the score by 46"
        ),
        credit.Reason("bankruptcy", "yes", 0.0, "A bankruptcy has been declared"),
        credit.Reason("monthly_income", "missing", 0.0, "Income was not provided"),
        credit.Reason("age", "17", 0.4, "the applicant is 17, which raised the risk"),
    )
    kept = withhold_values(reasons)
    assert kept[0] == credit.Reason(
        "monthly_income", WITHHELD, 46.2, "Income lowered the score by 46"
    )
    assert kept[1] == credit.Reason("bankruptcy", WITHHELD, 0.0, "A bankruptcy has been declared")
    assert kept[2] == reasons[2]  # a value not given is no personal data
    # a model reason worded otherwise keeps only its feature rather than risk the value
    assert kept[3] == credit.Reason("age", WITHHELD, 0.4, "age counted against the application")
    assert withhold_values(kept) == kept


def test_a_decision_row_holds_no_value_and_reads_back_as_stored(
    credit_platform: Platform, book: LoanBook
) -> None:
    decider = credit.Decider(credit_platform.artifact_dir)
    applicant = {**_applicants(book, 1)[0], "monthly_income": INCOME}
    with credit_platform.sessions() as session:
        decision = decider.decide_row_and_record(
            session, credit_platform.audit_key, applicant, model_ref=MODEL, actor="t"
        )
        session.commit()
    assert any(r.value == INCOME_TEXT for r in decision.reasons)  # the caller is told once
    stored = _stored_reasons(credit_platform, decision.id)
    assert stored and all(set(r) <= {"feature", "contribution", "text", "value"} for r in stored)
    assert INCOME_TEXT not in repr(stored)
    with credit_platform.sessions() as session:
        assert credit.get_decision(session, decision.id) == as_stored(decision)
        # nothing personal was sent: nothing to open, nothing audited
        entries = _count(credit_platform, AuditEntryRow)
        read = credit.get_decision(session, decision.id)
        same = with_values(
            session, credit_platform.vault, credit_platform.audit_key, decision=read, actor="t"
        )
        assert same is read
        session.commit()
        payloads = session.scalars(
            select(AuditEntryRow.payload).where(AuditEntryRow.object_id == decision.id)
        ).all()
    assert _count(credit_platform, AuditEntryRow) == entries
    assert payloads and INCOME_TEXT not in repr(payloads)


def test_rows_stored_with_values_before_are_read_as_they_are(platform: Platform) -> None:
    old: dict[str, Any] = {"feature": "age", "value": "44", "contribution": 0.5, "text": "Age (44)"}
    with platform.sessions() as session:
        session.add(_row("a" * 32, [old]))
        session.commit()
        assert credit.get_decision(session, "a" * 32).reasons == (credit.Reason(**old),)


def _row(decision_id: str, reasons: list[dict[str, Any]]) -> CreditDecisionRow:
    return CreditDecisionRow(
        id=decision_id,
        created_at=datetime.now(UTC),
        actor="t",
        model_name="m",
        model_version=1,
        policy_version=1,
        input_hash="0" * 64,
        outcome="decline",
        pd=0.4,
        score=500.0,
        credit_limit=Decimal(0),
        currency="EUR",
        reasons=reasons,
        knockouts=[],
    )


# -- through the API -----------------------------------------------------------------


def test_values_are_shown_to_personal_data_readers_until_the_person_is_erased(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    created = client.post(
        "/v1/credit/decisions", json=_body(book, **PERSON), headers=auth(tokens[Role.OPERATOR])
    )
    assert created.status_code == 201
    decision = created.json()
    assert _income(decision["reasons"])["value"] == INCOME_TEXT
    path = f"/v1/credit/decisions/{decision['id']}"

    reads = _count(credit_platform, AuditEntryRow)
    for role in (Role.ADMIN, Role.ANALYST):
        assert client.get(path, headers=auth(tokens[role])).json() == decision
    assert _count(credit_platform, AuditEntryRow) == reads + 2  # each opening audited
    for role in (Role.AUDITOR, Role.OPERATOR):  # may read decisions, not personal data
        shown = client.get(path, headers=auth(tokens[role])).json()
        income = _income(shown["reasons"])
        assert income["value"] is None and INCOME_TEXT not in income["text"]
        assert income["contribution"] == _income(decision["reasons"])["contribution"]
    # the personal data itself reads as before, without the sealed reasons
    opened = client.get(f"{path}/personal", headers=auth(tokens[Role.ANALYST]))
    assert {k: v for k, v in opened.json().items() if v is not None} == PERSON

    with credit_platform.sessions() as session:
        assert credit_platform.vault.erase(
            session, credit_platform.audit_key, subject_id=PERSON["national_id"], actor="t"
        )
        session.commit()
    after = client.get(path, headers=auth(tokens[Role.ADMIN]))
    assert after.status_code == 200
    assert [r["value"] for r in after.json()["reasons"]] == [None] * len(decision["reasons"])
    assert INCOME_TEXT not in after.text
    listed = client.get("/v1/credit/decisions", headers=auth(tokens[Role.AUDITOR])).json()
    assert listed["count"] == 1 and INCOME_TEXT not in repr(listed)
    with credit_platform.sessions() as session:
        assert audit.verify(session, credit_platform.audit_key).ok
        opened_reasons = session.scalars(
            select(AuditEntryRow.payload).where(AuditEntryRow.action == "personal.read")
        ).all()
    assert sum(json.loads(p).get("fields") == ["reasons"] for p in opened_reasons) == 2


def test_sealed_reasons_moved_to_another_decision_are_refused(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    ids = [
        client.post(
            "/v1/credit/decisions", json=_body(book, **PERSON), headers=auth(tokens[Role.ADMIN])
        ).json()["id"]
        for _ in range(2)
    ]
    with credit_platform.sessions() as session:
        first = session.get(CreditApplicantRow, ids[0])
        assert first is not None
        session.execute(
            update(CreditApplicantRow)
            .where(CreditApplicantRow.decision_id == ids[1])
            .values(sealed=first.sealed)
        )
        session.commit()
    with credit_platform.sessions() as session:
        moved = credit.get_decision(session, ids[1])
        with pytest.raises(IntegrityError):
            with_values(
                session, credit_platform.vault, credit_platform.audit_key, decision=moved, actor="t"
            )


def test_kept_answers_are_sealed_and_die_with_their_person(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    operator = auth(tokens[Role.OPERATOR])
    personal = {**operator, "Idempotency-Key": "with-person"}
    anonymous = {**operator, "Idempotency-Key": "without-person"}
    first = client.post("/v1/credit/decisions", json=_body(book, **PERSON), headers=personal)
    plain = client.post("/v1/credit/decisions", json=_body(book), headers=anonymous)
    assert first.status_code == plain.status_code == 201
    assert INCOME_TEXT in first.text and INCOME_TEXT in plain.text
    with credit_platform.sessions() as session:
        bodies = session.scalars(select(IdempotencyRow.body)).all()
    assert len(bodies) == 2
    assert all(b.startswith(SEALED) and INCOME_TEXT not in b for b in bodies)
    for headers, body, answer in (
        (personal, _body(book, **PERSON), first),
        (anonymous, _body(book), plain),
    ):
        again = client.post("/v1/credit/decisions", json=body, headers=headers)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == answer.json()

    with credit_platform.sessions() as session:
        credit_platform.vault.erase(
            session, credit_platform.audit_key, subject_id=PERSON["national_id"], actor="t"
        )
        session.commit()
    gone = client.post("/v1/credit/decisions", json=_body(book, **PERSON), headers=personal)
    assert gone.status_code == 404 and "erased" in gone.json()["detail"]
    assert INCOME_TEXT not in gone.text
    kept = client.post("/v1/credit/decisions", json=_body(book), headers=anonymous)
    assert kept.json() == plain.json()
    assert _count(credit_platform, CreditDecisionRow) == 2
