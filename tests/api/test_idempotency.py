from __future__ import annotations

import threading
from typing import Any

import httpx
from fastapi.testclient import TestClient

from finai.context import Platform
from finai.datasets import LoanBook
from finai.security import Role
from finai.store import AuditEntryRow, CreditDecisionRow, IdempotencyRow
from tests.api.test_credit_routes import _applicants, _count
from tests.conftest import MODEL, auth


def test_a_retry_with_the_key_gets_the_first_answer_and_stores_nothing(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    headers = {**auth(tokens[Role.OPERATOR]), "Idempotency-Key": "req-7f3a"}
    body: dict[str, Any] = {"model": MODEL, "applicant": _applicants(book, 1)[0]}
    first = client.post("/v1/credit/decisions", json=body, headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    entries = _count(credit_platform, AuditEntryRow)
    again = client.post("/v1/credit/decisions", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert _count(credit_platform, CreditDecisionRow) == 1
    assert _count(credit_platform, AuditEntryRow) == entries

    changed = {**body, "applicant_ref": "other"}
    clash = client.post("/v1/credit/decisions", json=changed, headers=headers)
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["field"] == "Idempotency-Key"
    assert _count(credit_platform, CreditDecisionRow) == 1

    # keys belong to the API key that sent them; no key, no memory
    other = {**auth(tokens[Role.ADMIN]), "Idempotency-Key": "req-7f3a"}
    assert client.post("/v1/credit/decisions", json=body, headers=other).json() != first.json()
    client.post("/v1/credit/decisions", json=body, headers=auth(tokens[Role.OPERATOR]))
    assert _count(credit_platform, CreditDecisionRow) == 3
    assert _count(credit_platform, IdempotencyRow) == 2


def test_batches_replay_whole(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    headers = {**auth(tokens[Role.OPERATOR]), "Idempotency-Key": "batch-1"}
    body = {"model": MODEL, "applicants": _applicants(book, 20)}
    first = client.post("/v1/credit/decisions/batch", json=body, headers=headers)
    again = client.post("/v1/credit/decisions/batch", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert _count(credit_platform, CreditDecisionRow) == 20


def test_bad_keys_are_refused(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    body = {"model": MODEL, "applicant": _applicants(book, 1)[0]}
    for bad in ("", "x" * 201, "has space"):
        headers = {**auth(tokens[Role.OPERATOR]), "Idempotency-Key": bad}
        answer = client.post("/v1/credit/decisions", json=body, headers=headers)
        assert answer.status_code == 422, bad
    assert _count(credit_platform, CreditDecisionRow) == 0


def test_concurrent_retries_store_one_decision(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    headers = {**auth(tokens[Role.OPERATOR]), "Idempotency-Key": "race-1"}
    body = {"model": MODEL, "applicant": _applicants(book, 1)[0]}
    answers: list[httpx.Response] = []

    def post() -> None:
        answers.append(client.post("/v1/credit/decisions", json=body, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(credit_platform, CreditDecisionRow) == 1
