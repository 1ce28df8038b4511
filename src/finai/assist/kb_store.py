"""Versioned storage of knowledge-base entries (table ``assist_kb_entries``).

Every change is a new row: a new key starts at version 1, a changed title, body or
intent list gets the next version, and an unchanged entry is left as it is. Old
versions stay, so an answer that quotes ``key`` v``n`` can be read back as given. The
functions flush, never commit: the caller commits once, so a file is stored whole or
not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finai.assist.knowledge import Entry, EntryDraft, parse_entries
from finai.exceptions import NotFound, ValidationError
from finai.security import audit
from finai.store.tables import KnowledgeEntryRow, utcnow

__all__ = ["DEMO_FILES", "add_entries", "current_entries", "demo_entries", "get_entry"]

DEMO_FILES = ("faq.md",)
"""The bundled demo knowledge base (``finai/assist/data/faq/``): a fictional bank's FAQ
tagged with BANKING77 intents."""


def _entry(row: KnowledgeEntryRow) -> Entry:
    return Entry(
        key=row.key,
        version=row.version,
        title=row.title,
        body=row.body,
        source=row.source,
        intents=tuple(row.intents or ()),
    )


def _digest(title: str, body: str, intents: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join([title, body, *intents]).encode()).hexdigest()


def _latest_rows(session: Session, keys: Sequence[str] | None = None) -> list[KnowledgeEntryRow]:
    newest = select(
        KnowledgeEntryRow.key, func.max(KnowledgeEntryRow.version).label("version")
    ).group_by(KnowledgeEntryRow.key)
    if keys is not None:
        newest = newest.where(KnowledgeEntryRow.key.in_(keys))
    latest = newest.subquery()
    query = (
        select(KnowledgeEntryRow)
        .join(
            latest,
            (KnowledgeEntryRow.key == latest.c.key)
            & (KnowledgeEntryRow.version == latest.c.version),
        )
        .order_by(KnowledgeEntryRow.key)
    )
    return list(session.scalars(query))


def add_entries(
    session: Session, audit_key: bytes, drafts: Sequence[EntryDraft], *, actor: str
) -> list[Entry]:
    """Store ``drafts`` as new entries or new versions; unchanged entries are kept (audited).

    Each new entry or version gets one audit entry (``assist.kb.add`` or
    ``assist.kb.update``) naming the key, version, source and a sha256 of the text.
    Nothing is committed.

    Parameters
    ----------
    session
        The caller's session; it commits.
    audit_key
        The audit chain's HMAC key.
    drafts
        Parsed entries (:func:`finai.assist.knowledge.parse_entries`), unique keys.
    actor
        Key id of who uploaded them.

    Returns
    -------
    list[Entry]
        The current version of each draft's key, in draft order (new, updated or kept).

    Raises
    ------
    ValidationError
        ``field="file"``: no drafts, or a key given twice.
    """
    if not drafts:
        raise ValidationError("no entries to store", field="file")
    keys = [draft.key for draft in drafts]
    if len(set(keys)) != len(keys):
        raise ValidationError("each entry needs its own key", field="file")
    latest = {row.key: row for row in _latest_rows(session, keys)}
    now = utcnow()
    stored: list[Entry] = []
    for draft in drafts:
        digest = _digest(draft.title, draft.body, draft.intents)
        row = latest.get(draft.key)
        if row is not None and _digest(row.title, row.body, row.intents or ()) == digest:
            stored.append(_entry(row))
            continue
        version = 1 if row is None else row.version + 1
        new = KnowledgeEntryRow(
            key=draft.key,
            version=version,
            title=draft.title,
            body=draft.body,
            source=draft.source,
            intents=list(draft.intents),
            created_at=now,
            created_by=actor,
        )
        session.add(new)
        audit.append(
            session,
            audit_key,
            actor=actor,
            action="assist.kb.add" if row is None else "assist.kb.update",
            object_type="assist_kb_entry",
            object_id=f"{draft.key}@{version}",
            payload={
                "key": draft.key,
                "version": version,
                "source": draft.source,
                "sha256": digest,
            },
        )
        stored.append(_entry(new))
    session.flush()
    return stored


def current_entries(session: Session) -> list[Entry]:
    """Return the newest version of every entry, ordered by key."""
    return [_entry(row) for row in _latest_rows(session)]


def get_entry(session: Session, key: str, version: int | None = None) -> Entry:
    """Return entry ``key`` at ``version`` (default: the newest).

    Raises
    ------
    NotFound
        When there is no such key or version.
    """
    query = select(KnowledgeEntryRow).where(KnowledgeEntryRow.key == key)
    if version is None:
        query = query.order_by(KnowledgeEntryRow.version.desc()).limit(1)
    else:
        query = query.where(KnowledgeEntryRow.version == version)
    row = session.scalars(query).first()
    if row is None:
        what = f"{key!r}" if version is None else f"{key!r} version {version}"
        raise NotFound(f"no knowledge-base entry {what}", field="key")
    return _entry(row)


def demo_entries() -> list[EntryDraft]:
    """Return the bundled demo FAQ (a fictional bank, tagged with BANKING77 intents)."""
    folder = resources.files("finai.assist").joinpath("data", "faq")
    drafts: list[EntryDraft] = []
    for name in DEMO_FILES:
        drafts.extend(parse_entries(folder.joinpath(name).read_bytes(), name))
    return drafts
