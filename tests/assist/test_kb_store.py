"""Versioned knowledge-base entries on the real databases, audited, all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from finai.assist.kb_store import add_entries, current_entries, demo_entries, get_entry
from finai.assist.knowledge import EntryDraft, parse_entries
from finai.context import Platform
from finai.exceptions import NotFound, ValidationError
from finai.security import audit
from finai.store import AuditEntryRow, KnowledgeEntryRow

V1 = b"""## Lost card
key: lost-card
intents: lost_or_stolen_card

Freeze it in the app.

## Fees

Card payments are free.
"""

V2 = b"""## Lost card
key: lost-card
intents: lost_or_stolen_card

Freeze it in the app, then report it lost.

## Fees

Card payments are free.

## Close account

Go to Account > Close.
"""


def store(platform: Platform, data: bytes, name: str = "faq.md") -> list[tuple[str, int]]:
    with platform.sessions() as session:
        stored = add_entries(session, platform.audit_key, parse_entries(data, name), actor="k1")
        session.commit()
    return [(e.key, e.version) for e in stored]


def kb_audit(platform: Platform) -> list[tuple[str, str]]:
    with platform.sessions() as session:
        rows = session.scalars(
            select(AuditEntryRow)
            .where(AuditEntryRow.object_type == "assist_kb_entry")
            .order_by(AuditEntryRow.seq)
        )
        return [(row.action, row.object_id) for row in rows]


def test_versions_new_changed_and_unchanged_entries(platform: Platform) -> None:
    assert store(platform, V1) == [("lost-card", 1), ("fees", 1)]
    assert store(platform, V2, "faq-2.md") == [("lost-card", 2), ("fees", 1), ("close-account", 1)]
    assert store(platform, V2, "faq-2.md") == [("lost-card", 2), ("fees", 1), ("close-account", 1)]
    assert kb_audit(platform) == [
        ("assist.kb.add", "lost-card@1"),
        ("assist.kb.add", "fees@1"),
        ("assist.kb.update", "lost-card@2"),
        ("assist.kb.add", "close-account@1"),
    ]
    with platform.sessions() as session:
        current = current_entries(session)
        assert [(e.key, e.version) for e in current] == [
            ("close-account", 1),
            ("fees", 1),
            ("lost-card", 2),
        ]
        newest = get_entry(session, "lost-card")
        assert newest.body == "Freeze it in the app, then report it lost."
        assert newest.source == "faq-2.md" and newest.intents == ("lost_or_stolen_card",)
        old = get_entry(session, "lost-card", 1)
        assert old.body == "Freeze it in the app." and old.source == "faq.md"
        assert audit.verify(session, platform.audit_key).ok


def test_changed_intents_make_a_new_version(platform: Platform) -> None:
    store(platform, V1)
    retagged = V1.replace(
        b"intents: lost_or_stolen_card", b"intents: lost_or_stolen_card, compromised_card"
    )
    assert store(platform, retagged)[0] == ("lost-card", 2)


def test_missing_entries_are_not_found(platform: Platform) -> None:
    store(platform, V1)
    with platform.sessions() as session:
        with pytest.raises(NotFound, match="'nope'"):
            get_entry(session, "nope")
        with pytest.raises(NotFound, match="'fees' version 7"):
            get_entry(session, "fees", 7)


def test_a_bad_batch_stores_nothing(platform: Platform) -> None:
    drafts = [EntryDraft("a", "A", "text", "x.md"), EntryDraft("a", "A again", "text", "x.md")]
    with platform.sessions() as session:
        with pytest.raises(ValidationError, match="its own key"):
            add_entries(session, platform.audit_key, drafts, actor="k1")
        with pytest.raises(ValidationError, match="no entries"):
            add_entries(session, platform.audit_key, [], actor="k1")
        session.commit()
        assert session.scalar(select(func.count()).select_from(KnowledgeEntryRow)) == 0
        assert current_entries(session) == []


def test_demo_entries_store(platform: Platform) -> None:
    drafts = demo_entries()
    with platform.sessions() as session:
        stored = add_entries(session, platform.audit_key, drafts, actor="demo")
        session.commit()
        assert len(current_entries(session)) == len(drafts) == len(stored)
        assert all(e.version == 1 for e in stored)
