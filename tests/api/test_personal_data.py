"""Personal data through the API: sealed at rest, found by blind index, erasable, never leaked."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from finai.context import Platform
from finai.datasets import LoanBook
from finai.security import Role, audit
from finai.store import Base, CreditApplicantRow
from tests.api.test_credit_routes import _applicants
from tests.conftest import MODEL, auth

PEOPLE = [
    {
        "national_id": f"ZQX-{i}73-NINE-{i}",
        "name": f"Wilhelmina Quackenbush-{i}",
        "address": f"{i} Ptarmigan Crescent, Little Snoring",
        "email": f"wq{i}@snoring.example",
        "phone": f"+44 7700 90{i}123",
        "date_of_birth": "1971-02-03",
        "notes": f"asked about the xylophone loan {i}",
    }
    for i in range(3)
]
INCOME = 271.8281
"""A distinctive monthly income; low enough to be a reason, read as ``271.828``."""
INCOME_TEXT = b"271.828"


def _decide(
    client: TestClient, token: str, book: LoanBook, person: dict[str, Any], row: int
) -> str:
    body = {"model": MODEL, "applicant": _applicants(book, row + 1)[row], "personal": person}
    created = client.post("/v1/credit/decisions", json=body, headers=auth(token))
    assert created.status_code == 201, created.text
    decision_id: str = created.json()["id"]
    return decision_id


def test_personal_data_is_read_back_found_by_id_and_erased(
    credit_platform: Platform, client: TestClient, tokens: dict[Role, str], book: LoanBook
) -> None:
    ids = [_decide(client, tokens[Role.OPERATOR], book, p, i) for i, p in enumerate(PEOPLE)]
    analyst = auth(tokens[Role.ANALYST])
    opened = client.get(f"/v1/credit/decisions/{ids[0]}/personal", headers=analyst)
    assert opened.status_code == 200
    assert opened.json() == PEOPLE[0]
    refused = client.get(
        f"/v1/credit/decisions/{ids[0]}/personal", headers=auth(tokens[Role.AUDITOR])
    )
    assert refused.status_code == 403

    search = {"national_id": " zqx-173-nine-1 "}  # case and spaces do not matter
    found = client.post("/v1/credit/applicants/search", json=search, headers=analyst)
    assert found.json() == {"decision_ids": [ids[1]]}
    nobody = client.post(
        "/v1/credit/applicants/search", json={"national_id": "N-0"}, headers=analyst
    )
    assert nobody.json() == {"decision_ids": []}

    with credit_platform.sessions() as session:
        erased = credit_platform.vault.erase(
            session, credit_platform.audit_key, subject_id=PEOPLE[0]["national_id"], actor="t"
        )
        session.commit()
    assert erased
    gone = client.get(f"/v1/credit/decisions/{ids[0]}/personal", headers=analyst)
    assert gone.status_code == 404 and "erased" in gone.json()["detail"]
    assert client.get(f"/v1/credit/decisions/{ids[0]}", headers=analyst).status_code == 200
    assert (
        client.get(f"/v1/credit/decisions/{ids[2]}/personal", headers=analyst).json() == PEOPLE[2]
    )
    with credit_platform.sessions() as session:
        assert audit.verify(session, credit_platform.audit_key).ok
        actions = [e.action for e in audit.entries(session, limit=50)]
    assert actions.count("personal.read") == 2 and actions.count("personal.search") == 2
    assert "data.erase" in actions


def _dump(platform: Platform) -> bytes:
    """Every row of every table as PostgreSQL writes it out (``COPY ... TO STDOUT``).

    This is the data a ``pg_dump`` holds, without depending on a client binary whose
    version must match the server's.
    """
    out = bytearray()
    connection = platform.engine.raw_connection()
    try:
        cursor = connection.cursor()
        for table in Base.metadata.sorted_tables:
            out += f"-- {table.name}\n".encode()
            with cursor.copy(f'COPY "{table.name}" TO STDOUT') as copy:
                for block in copy:
                    out += bytes(block)
    finally:
        connection.close()
    return bytes(out)


def test_no_plaintext_in_the_database_files_dumps_or_logs(
    credit_platform: Platform,
    client: TestClient,
    tokens: dict[Role, str],
    book: LoanBook,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        for i, person in enumerate(PEOPLE):
            _decide(client, tokens[Role.OPERATOR], book, person, i)
        # the income, named by the reasons, is sent with and without a person, the
        # answers kept for replay (Idempotency-Key)
        poor = {**_applicants(book, 1)[0], "monthly_income": INCOME}
        told = [
            client.post(
                path,
                json=body,
                headers={**auth(tokens[Role.OPERATOR]), "Idempotency-Key": f"scan-{n}"},
            )
            for n, (path, body) in enumerate(
                [
                    ("/v1/credit/decisions", {"model": MODEL, "applicant": poor}),
                    ("/v1/credit/decisions/batch", {"model": MODEL, "applicants": [poor]}),
                ]
            )
        ]
        assert all(INCOME_TEXT in answer.content for answer in told)  # the caller is told
        with_person = {"model": MODEL, "applicant": poor, "personal": PEOPLE[1]}
        answer = client.post(
            "/v1/credit/decisions", json=with_person, headers=auth(tokens[Role.ADMIN])
        )
        assert INCOME_TEXT in answer.content
        read = client.get(
            f"/v1/credit/decisions/{answer.json()['id']}", headers=auth(tokens[Role.ANALYST])
        )
        assert INCOME_TEXT in read.content
        bad = {**PEOPLE[0], "email": "x" * 300}
        body = {"model": MODEL, "applicant": _applicants(book, 1)[0], "personal": bad}
        refused = client.post(
            "/v1/credit/decisions", json=body, headers=auth(tokens[Role.OPERATOR])
        )
        assert refused.status_code == 422
    url = make_url(credit_platform.settings.db_url)
    if url.get_backend_name() == "sqlite":
        credit_platform.engine.dispose()
        database = Path(str(url.database))
        raw = b"".join(path.read_bytes() for path in database.parent.glob(f"{database.name}*"))
    else:
        raw = _dump(credit_platform)
    logged = (caplog.text + "".join(str(vars(r)) for r in caplog.records)).encode()
    with credit_platform.sessions() as session:
        sealed = session.scalars(select(CreditApplicantRow.sealed)).all()
    assert len(sealed) == len(PEOPLE) + 1  # the scan covers the stored rows themselves:
    assert all(blob in raw or blob.hex().encode() in raw for blob in sealed)
    assert str(PEOPLE[0]["name"]) not in refused.text
    assert INCOME_TEXT not in raw, "the income in the database"
    assert INCOME_TEXT not in logged, "the income in the logs"
    for person in PEOPLE:
        for field in ("national_id", "name", "address", "email", "phone", "notes"):
            secret = str(person[field]).encode()
            assert secret not in raw, f"{field} in the database"
            assert secret not in logged, f"{field} in the logs"
