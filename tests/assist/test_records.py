"""Conversations, sealed messages and the handoff queue on the real databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from finai.assist import records
from finai.assist.assistant import Source, Turn
from finai.context import Platform
from finai.exceptions import Conflict, NotFound
from finai.security import audit
from finai.store import AssistConversationRow, AssistMessageRow, AuditEntryRow

SECRET_WORDS = "my [EMAIL] and the lost card"


def turn(text: str = SECRET_WORDS, *, reason: str | None = None, action: str = "answer") -> Turn:
    answered = action == "answer"
    return Turn(
        text=text,
        redacted={"EMAIL": 1},
        language="en",
        intent="lost_or_stolen_card",
        confidence=0.91,
        action=action,
        sentiment="negative" if reason == "negative_sentiment" else "neutral",
        sentiment_score=-0.8 if reason == "negative_sentiment" else 0.0,
        answer="Block it in the app. (Source: Lost cards, lost-card version 3)"
        if answered
        else None,
        sources=(Source("lost-card", 3, "Lost cards", 0.8),) if answered else (),
        handoff_reason=reason,
        reply="Block it in the app." if answered else "A person will reply.",
    )


def record(platform: Platform, t: Turn, conversation_id: str | None = None, owner: str = "k1"):  # type: ignore[no-untyped-def]
    with platform.sessions() as session:
        done = records.record_turn(
            session,
            platform.vault,
            platform.audit_key,
            turn=t,
            conversation_id=conversation_id,
            owner=owner,
            channel="text",
            actor=owner,
        )
        session.commit()
    return done


def test_a_turn_is_stored_sealed_and_audited_without_its_text(platform: Platform) -> None:
    done = record(platform, turn())
    assert done.handoff is None and done.conversation.status == "bot"
    with platform.sessions() as session:
        rows = session.scalars(select(AssistMessageRow)).all()
        assert {r.sender for r in rows} == {"customer", "assistant"}
        assert all(SECRET_WORDS.encode() not in r.sealed for r in rows)
        payloads = [e.payload for e in session.scalars(select(AuditEntryRow))]
        conversation, messages = records.read_conversation(
            session, platform.vault, platform.audit_key, done.conversation.id, actor="staff"
        )
        session.commit()
    assert not any("lost card" in p for p in payloads)
    assert any('"key":"lost-card"' in p and '"version":3' in p for p in payloads)
    assert [m.sender for m in messages] == ["customer", "assistant"]
    assert messages[0].text == SECRET_WORDS and messages[0].intent == "lost_or_stolen_card"
    assert messages[1].sources == [{"key": "lost-card", "version": 3, "title": "Lost cards"}]
    assert conversation.owner == "k1"
    with platform.sessions() as session:
        actions = [e.action for e in audit.entries(session, limit=10)]
    assert {"assist.answer", "assist.conversation.read"} <= set(actions)


def test_later_messages_attach_and_strangers_are_told_it_does_not_exist(
    platform: Platform,
) -> None:
    first = record(platform, turn())
    second = record(platform, turn(), conversation_id=first.conversation.id)
    assert second.conversation.id == first.conversation.id
    with pytest.raises(NotFound) as other:
        record(platform, turn(), conversation_id=first.conversation.id, owner="k2")
    with pytest.raises(NotFound) as unknown:
        record(platform, turn(), conversation_id="f" * 32, owner="k2")
    assert str(other.value).replace(first.conversation.id, "X") == str(unknown.value).replace(
        "f" * 32, "X"
    )
    with platform.sessions() as session:
        assert session.scalar(select(AssistConversationRow.id).limit(2)) is not None
        assert len(session.scalars(select(AssistMessageRow)).all()) == 4


def test_the_handoff_queue_assign_resolve_and_back_to_the_bot(platform: Platform) -> None:
    done = record(platform, turn(reason="no_answer", action="handoff"))
    assert done.handoff is not None and done.conversation.status == "staff"
    with platform.sessions() as session:
        assert [h.id for h in records.list_handoffs(session, status="open")] == [done.handoff.id]
        assert records.count_handoffs(session, status="open") == 1
        assert records.waiting_handoff(session, done.conversation.id) == done.handoff
        taken = records.assign_handoff(
            session, platform.audit_key, done.handoff.id, assignee="Ann", actor="s1"
        )
        session.commit()
        assert (taken.status, taken.assignee) == ("assigned", "Ann")
        closed = records.resolve_handoff(session, platform.audit_key, done.handoff.id, actor="s1")
        session.commit()
        assert closed.status == "resolved" and closed.resolved_by == "s1"
        assert records.get_conversation(session, done.conversation.id).status == "bot"
        with pytest.raises(Conflict):
            records.resolve_handoff(session, platform.audit_key, done.handoff.id, actor="s1")
        session.rollback()
        with pytest.raises(NotFound):
            records.assign_handoff(session, platform.audit_key, "0" * 32, assignee="A", actor="s")


def test_staff_replies_are_sealed_and_erasure_shreds_the_conversation(platform: Platform) -> None:
    done = record(platform, turn(reason="customer_asked", action="handoff"))
    cid = done.conversation.id
    with platform.sessions() as session:
        records.staff_reply(
            session,
            platform.vault,
            platform.audit_key,
            conversation_id=cid,
            text="Hello, this is Ann.",
            redacted={},
            actor="s1",
        )
        session.commit()
        _, messages = records.read_conversation(
            session, platform.vault, platform.audit_key, cid, actor="s1"
        )
        assert [m.sender for m in messages] == ["customer", "assistant", "staff"]
        assert messages[-1].text == "Hello, this is Ann."
        assert platform.vault.erase(session, platform.audit_key, subject_id=cid, actor="s1")
        session.commit()
        _, erased = records.read_conversation(
            session, platform.vault, platform.audit_key, cid, actor="s1"
        )
    assert [m.text for m in erased] == [None, None, None]
    assert erased[0].intent == "lost_or_stolen_card"


def test_daily_stats_count_intents_and_average_sentiment(platform: Platform) -> None:
    record(platform, turn())
    record(platform, turn(reason="negative_sentiment"))
    with platform.sessions() as session:
        days = records.daily_stats(session, days=3)
    assert len(days) == 3
    today = days[-1]
    assert today.messages == 2 and today.handoffs == 1
    assert today.intents == {"lost_or_stolen_card": 2}
    assert today.sentiment == pytest.approx(-0.4)
