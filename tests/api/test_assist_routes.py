"""The assistant over HTTP: messages, audio, the handoff queue, the knowledge base, PII."""

from __future__ import annotations

import io
import logging
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from finai.api import create_app
from finai.assist.pipeline import Assistants
from finai.context import Platform
from finai.security import Role, audit
from finai.store import (
    AssistConversationRow,
    AssistHandoffRow,
    AssistMessageRow,
    AuditEntryRow,
    KnowledgeEntryRow,
)
from tests.api.test_personal_data import _dump
from tests.assist.fakes import FakeSentiment, WordKnowledge, fake_language
from tests.conftest import auth

FAQ = b"""# Cards

## How much does a replacement card cost?
key: card-replacement
intents: card_fee

A replacement card is free of charge; order it in the app under Cards.

## When will my card arrive?
key: card-arrival

New cards arrive within 5 working days.
"""


@pytest.fixture
def assist_client(platform: Platform) -> Iterator[TestClient]:
    """The app with the real redaction and KB storage, and light stand-ins for the models."""
    app = create_app(platform)
    app.state.assistants = Assistants(
        platform.artifact_dir,
        intent_model="no-intent-model",
        max_chars=300,
        sentiment=FakeSentiment(),
        language=fake_language,
        index=WordKnowledge,
    )
    with TestClient(app) as test_client:
        yield test_client


def _kb(client: TestClient, token: str, data: bytes = FAQ, name: str = "faq.md") -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/v1/assist/kb", files={"file": (name, data, "text/markdown")}, headers=auth(token)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _send(client: TestClient, token: str, text: str, conversation_id: str | None = None) -> dict:  # type: ignore[type-arg]
    body: dict[str, str] = {"text": text}
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = client.post("/v1/assist/messages", json=body, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _stored(platform: Platform) -> tuple[int, int, int]:
    with platform.sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (AssistConversationRow, AssistMessageRow, AssistHandoffRow)
        )


def test_an_answer_names_its_source_and_version(
    assist_client: TestClient, tokens: dict[Role, str], platform: Platform
) -> None:
    _kb(assist_client, tokens[Role.ANALYST])
    reply = _send(assist_client, tokens[Role.OPERATOR], "how much is a new card?")
    assert reply["action"] == "answer" and reply["handoff"] is None
    assert "free of charge" in reply["answer"]
    assert "card-replacement version 1" in reply["answer"]
    assert reply["sources"][0]["key"] == "card-replacement"
    assert reply["sources"][0]["version"] == 1
    assert reply["sentiment"] == {"label": "neutral", "score": 0.0}
    with platform.sessions() as session:
        entry = session.scalars(
            select(AuditEntryRow).where(AuditEntryRow.action == "assist.answer")
        ).one()
    assert (
        '"key":"card-replacement"' in entry.payload
        and "card" not in entry.payload.split('"key"')[0]
    )


def test_the_conversation_goes_to_staff_and_back(
    assist_client: TestClient, tokens: dict[Role, str], platform: Platform
) -> None:
    _kb(assist_client, tokens[Role.ANALYST])
    first = _send(assist_client, tokens[Role.OPERATOR], "I want to talk to a human")
    cid = first["conversation_id"]
    assert first["action"] == "handoff" and first["handoff"]["reason"] == "customer_asked"
    second = _send(assist_client, tokens[Role.OPERATOR], "how much is a new card?", cid)
    assert second["conversation_id"] == cid
    assert second["action"] == "handoff" and second["answer"] is None
    assert second["handoff"]["id"] == first["handoff"]["id"]
    staff = auth(tokens[Role.ANALYST])
    queue = assist_client.get("/v1/assist/handoffs?status=open", headers=staff).json()
    assert [h["id"] for h in queue["data"]] == [first["handoff"]["id"]]
    hid = first["handoff"]["id"]
    taken = assist_client.post(f"/v1/assist/handoffs/{hid}/assign", json={}, headers=staff)
    assert taken.json()["status"] == "assigned" and taken.json()["assignee"] == "test analyst"
    replied = assist_client.post(
        f"/v1/assist/conversations/{cid}/replies",
        json={"text": "Hello, I can help. Write to help@bank.example"},
        headers=staff,
    )
    assert replied.status_code == 201
    assert replied.json()["text"] == "Hello, I can help. Write to [EMAIL]"
    opened = assist_client.get(f"/v1/assist/conversations/{cid}", headers=staff).json()
    assert [m["sender"] for m in opened["messages"]] == [
        "customer", "assistant", "customer", "assistant", "staff",
    ]  # fmt: skip
    assert opened["messages"][0]["text"] == "I want to talk to a human"
    done = assist_client.post(f"/v1/assist/handoffs/{hid}/resolve", json={}, headers=staff)
    assert done.json()["status"] == "resolved"
    again = assist_client.post(f"/v1/assist/handoffs/{hid}/resolve", json={}, headers=staff)
    assert again.status_code == 409
    third = _send(assist_client, tokens[Role.OPERATOR], "how much is a new card?", cid)
    assert third["action"] == "answer"
    with platform.sessions() as session:
        actions = {e.action for e in audit.entries(session, limit=100)}
    assert {
        "assist.handoff",
        "assist.handoff.open",
        "assist.handoff.assign",
        "assist.handoff.resolve",
        "assist.staff_reply",
        "assist.conversation.read",
        "assist.answer",
    } <= actions


def test_another_key_cannot_tell_a_conversation_exists(
    assist_client: TestClient, tokens: dict[Role, str], platform: Platform
) -> None:
    reply = _send(assist_client, tokens[Role.OPERATOR], "hello there")
    theirs = assist_client.post(
        "/v1/assist/messages",
        json={"text": "hi", "conversation_id": reply["conversation_id"]},
        headers=auth(tokens[Role.ADMIN]),
    )
    unknown = assist_client.post(
        "/v1/assist/messages",
        json={"text": "hi", "conversation_id": "a" * 32},
        headers=auth(tokens[Role.ADMIN]),
    )
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"].replace(reply["conversation_id"], "X") == unknown.json()[
        "detail"
    ].replace("a" * 32, "X")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   \n "}, "text"),
        ({"text": "card " * 100}, "text"),
        ({"text": "bonjour, ma carte est perdue"}, "text"),
        ({"text": "x" * 100_001}, "text"),
        ({"text": "hi", "conversation_id": "not-an-id"}, "conversation_id"),
    ],
)
def test_bad_messages_are_422_naming_the_field_and_store_nothing(
    assist_client: TestClient,
    tokens: dict[Role, str],
    platform: Platform,
    body: dict[str, str],
    field: str,
) -> None:
    response = assist_client.post(
        "/v1/assist/messages", json=body, headers=auth(tokens[Role.OPERATOR])
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert _stored(platform) == (0, 0, 0)


def _wav(seconds: float = 0.2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"\x00\x00" * int(16_000 * seconds))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("message.wav", b"RIFF\x00\x00garbage that is not audio"),
        ("message.txt", b"hello"),
        ("message.wav", b""),
        ("message.wav", _wav()),  # silence: nothing to hear
    ],
)
def test_bad_audio_is_422_and_stores_nothing(
    assist_client: TestClient, tokens: dict[Role, str], platform: Platform, name: str, data: bytes
) -> None:
    response = assist_client.post(
        "/v1/assist/audio",
        files={"file": (name, data, "application/octet-stream")},
        headers=auth(tokens[Role.OPERATOR]),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert _stored(platform) == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("faq.pdf", b"%PDF-1.4"),
        ("faq.csv", b"question,answer\nonly one field\n"),
        ("faq.csv", b"title\nno answer column\n"),
        ("faq.md", b"\xff\xfe\x00binary"),
        ("faq.md", b""),
    ],
)
def test_a_bad_kb_file_is_422_and_stores_nothing(
    assist_client: TestClient, tokens: dict[Role, str], platform: Platform, name: str, data: bytes
) -> None:
    response = assist_client.post(
        "/v1/assist/kb",
        files={"file": (name, data, "text/plain")},
        headers=auth(tokens[Role.ANALYST]),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    with platform.sessions() as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeEntryRow)) == 0


def test_kb_uploads_version_changed_entries_and_list_the_current_ones(
    assist_client: TestClient, tokens: dict[Role, str]
) -> None:
    first = _kb(assist_client, tokens[Role.ANALYST])
    assert sorted((e["key"], e["version"]) for e in first["data"]) == [
        ("card-arrival", 1),
        ("card-replacement", 1),
    ]
    changed = FAQ.replace(b"5 working days", b"3 working days")
    second = _kb(assist_client, tokens[Role.ANALYST], changed)
    assert sorted((e["key"], e["version"]) for e in second["data"]) == [
        ("card-arrival", 2),
        ("card-replacement", 1),
    ]
    listed = assist_client.get("/v1/assist/kb", headers=auth(tokens[Role.OPERATOR])).json()
    assert sorted((e["key"], e["version"]) for e in listed["data"]) == [
        ("card-arrival", 2),
        ("card-replacement", 1),
    ]


def test_a_retry_with_the_idempotency_key_gets_the_first_answer(
    assist_client: TestClient, tokens: dict[Role, str], platform: Platform
) -> None:
    headers = {**auth(tokens[Role.OPERATOR]), "Idempotency-Key": "msg-1"}
    first = assist_client.post("/v1/assist/messages", json={"text": "hello"}, headers=headers)
    again = assist_client.post("/v1/assist/messages", json={"text": "hello"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert _stored(platform) == (1, 2, 1)


CARD = "4111 1111 1111 1111"
IBAN = "GB82 WEST 1234 5698 7654 32"
EMAIL = "maria.lopez@example.com"
PHONE = "+44 7700 900123"
SSN = "078-05-1120"
SECRETS = (CARD, IBAN, EMAIL, PHONE, SSN, "4111111111111111", "GB82WEST12345698765432")
PII_MESSAGES = (
    f"My card {CARD} was charged twice, how much does a new card cost?",
    f"Please send the refund to {IBAN}, thanks",
    f"I can't log in, my email is {EMAIL} and my phone {PHONE}",
    f"I am angry! my SSN is {SSN} and I want a person",
)


def test_no_personal_data_reaches_the_database_or_the_logs(
    assist_client: TestClient,
    tokens: dict[Role, str],
    platform: Platform,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        _kb(assist_client, tokens[Role.ANALYST])
        cid = None
        for text in PII_MESSAGES:
            reply = _send(assist_client, tokens[Role.OPERATOR], text, cid)
            cid = reply["conversation_id"]
            assert not any(secret in str(reply) for secret in SECRETS)
        redacted = reply["redacted"]
        assert redacted.get("NATIONAL_ID") == 1
        refused = assist_client.post(
            "/v1/assist/messages",
            json={"text": f"{CARD} " + "x" * 400},
            headers=auth(tokens[Role.OPERATOR]),
        )
        assert refused.status_code == 422 and CARD not in refused.text
    opened = assist_client.get(
        f"/v1/assist/conversations/{cid}", headers=auth(tokens[Role.ANALYST])
    ).json()
    texts = [m["text"] for m in opened["messages"] if m["sender"] == "customer"]
    assert "[CARD]" in texts[0] and "[IBAN]" in texts[1] and "[EMAIL]" in texts[2]
    url = make_url(platform.settings.db_url)
    if url.get_backend_name() == "sqlite":
        platform.engine.dispose()
        database = Path(str(url.database))
        raw = b"".join(path.read_bytes() for path in database.parent.glob(f"{database.name}*"))
    else:
        raw = _dump(platform)
    logged = (caplog.text + "".join(str(vars(r)) for r in caplog.records)).encode()
    with platform.sessions() as session:
        sealed = session.scalars(select(AssistMessageRow.sealed)).all()
    assert len(sealed) == 2 * len(PII_MESSAGES)
    assert all(blob in raw or blob.hex().encode() in raw for blob in sealed)
    for secret in SECRETS:
        assert secret.encode() not in raw, f"{secret} in the database"
        assert secret.encode() not in logged, f"{secret} in the logs"
