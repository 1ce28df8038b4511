"""The audit chain: an append-only, HMAC-linked log of every state change.

Each entry holds its sequence number, UTC time, actor, action, object, the sha256 of
its canonical JSON payload, the previous entry's MAC and an HMAC-SHA256 over all of
these. Editing, deleting, inserting or reordering rows breaks a MAC or a link, and
``verify`` names the first sequence number where the chain fails. A single head row
holds the last sequence and MAC; appends update it first, so its row lock (PostgreSQL)
or the database write lock (SQLite) serialises concurrent writers and the chain
never forks. The head also exposes truncation of the newest entries.

Appends happen inside the caller's transaction: the entry lands with the change it
records or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from finai.exceptions import IntegrityError
from finai.store import AuditEntryRow, AuditHeadRow, utcnow

GENESIS = "0" * 64
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class AuditEntry:
    """A read-only view of one chain entry."""

    seq: int
    created_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: dict[str, Any]
    payload_hash: str
    prev_hash: str
    mac: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain verification.

    Attributes
    ----------
    ok
        True when every entry and the head check out.
    count
        Entries checked.
    first_bad_seq
        The first sequence number where the chain fails, or None.
    reason
        What failed there, in words.
    """

    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str | None = None


def canonical_json(payload: dict[str, Any]) -> str:
    """Serialise ``payload`` deterministically (sorted keys, no spaces)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_HEAD = cast(Table, AuditHeadRow.__table__)
_ENTRIES = cast(Table, AuditEntryRow.__table__)
_BUMP_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + 1)
    .returning(_HEAD.c.seq, _HEAD.c.mac)
)
_SET_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(mac=bindparam("new_mac"))
_INSERT_ENTRY = insert(_ENTRIES)
_VERIFY_COLUMNS = (
    "seq",
    "created_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "payload",
    "payload_hash",
    "prev_hash",
    "mac",
)


def compute_mac(
    key: bytes,
    *,
    seq: int,
    created_at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload_hash: str,
    prev_hash: str,
) -> str:
    """Return the hex HMAC-SHA256 binding every field of an entry."""
    message = _message(
        seq, created_at, actor, action, object_type, object_id, payload_hash, prev_hash
    )
    return hmac.digest(key, message, "sha256").hex()


def _message(
    seq: int,
    created_at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload_hash: str,
    prev_hash: str,
) -> bytes:
    fields = (
        str(seq),
        _timestamp(created_at),
        actor,
        action,
        object_type,
        object_id,
        payload_hash,
        prev_hash,
    )
    return "\x1f".join(fields).encode()


def append(
    session: Session,
    key: bytes,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry in the session's transaction; the caller commits.

    Parameters
    ----------
    session
        The session holding the change being recorded.
    key
        The HMAC key (``Settings.secret()``).
    actor
        Key id of who acted, or ``"system"``.
    action
        Dotted verb, e.g. ``"model.promote"``.
    object_type, object_id
        What was acted on.
    payload
        Ids, hashes and parameters of the change; never personal data.
    """
    body = canonical_json(payload or {})
    payload_hash = hashlib.sha256(body.encode()).hexdigest()
    # Write the caller's pending changes first, then take the head row: that locks it
    # (PostgreSQL) or the database (SQLite) until the transaction ends.
    session.flush()
    conn = session.connection()
    head = conn.execute(_BUMP_HEAD).one()
    seq, prev_hash = int(head.seq), str(head.mac)
    created_at = utcnow()
    mac = compute_mac(
        key,
        seq=seq,
        created_at=created_at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload_hash=payload_hash,
        prev_hash=prev_hash,
    )
    conn.execute(
        _INSERT_ENTRY,
        {
            "seq": seq,
            "created_at": created_at,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload": body,
            "payload_hash": payload_hash,
            "prev_hash": prev_hash,
            "mac": mac,
        },
    )
    conn.execute(_SET_HEAD, {"new_mac": mac})
    return AuditEntry(
        seq=seq,
        created_at=created_at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload=payload or {},
        payload_hash=payload_hash,
        prev_hash=prev_hash,
        mac=mac,
    )


def verify(session: Session, key: bytes) -> VerifyResult:
    """Walk the whole chain in sequence order and report the first break."""
    # yield_per on the statement, not the connection: a connection option would outlive
    # this walk and turn the transaction's later INSERTs into server-side cursors
    rows = session.connection().execute(
        select(*(_ENTRIES.c[name] for name in _VERIFY_COLUMNS))
        .order_by(_ENTRIES.c.seq)
        .execution_options(yield_per=5000)
    )
    try:
        walked = _walk(rows, key)
    finally:
        rows.close()
    if isinstance(walked, VerifyResult):
        return walked
    count, prev = walked
    head = session.execute(select(AuditHeadRow.seq, AuditHeadRow.mac)).one_or_none()
    if head is None:
        raise IntegrityError("the audit head row is missing; run 'finai db upgrade'")
    if head.seq != count:
        first_bad = min(count, head.seq) + 1
        return VerifyResult(
            False, count, first_bad, f"head records {head.seq} entries, {count} found"
        )
    if head.mac != prev:
        return VerifyResult(False, count, count, "head does not match the last entry")
    return VerifyResult(True, count)


def _walk(rows: Iterable[Any], key: bytes) -> VerifyResult | tuple[int, str]:
    """Check entries in order; return the first failure, or the count and last MAC."""
    expected_seq, prev, count = 1, GENESIS, 0
    for row in rows:
        seq, created_at, actor, action, object_type, object_id, payload, payload_hash, link, mac = (
            row
        )
        if seq != expected_seq:
            return VerifyResult(False, count, expected_seq, f"entry {expected_seq} is missing")
        if hashlib.sha256(payload.encode()).hexdigest() != payload_hash:
            return VerifyResult(False, count, seq, "payload does not match its hash")
        if link != prev:
            return VerifyResult(False, count, seq, "link to the previous entry is broken")
        message = _message(
            seq, created_at, actor, action, object_type, object_id, payload_hash, link
        )
        if not hmac.compare_digest(hmac.digest(key, message, "sha256").hex(), mac):
            return VerifyResult(False, count, seq, "entry MAC does not match its contents")
        prev, expected_seq, count = mac, expected_seq + 1, count + 1
    return count, prev


def count(session: Session) -> int:
    """Return how many entries the chain records (its head's sequence number)."""
    return int(session.scalar(select(AuditHeadRow.seq)) or 0)


def entries(
    session: Session,
    *,
    limit: int = 100,
    before: int | None = None,
    action: str | None = None,
    object_id: str | None = None,
) -> list[AuditEntry]:
    """Return entries newest first, at most ``limit``, optionally before a sequence.

    ``action`` and ``object_id`` keep only the entries of that action or object.
    """
    query = select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntryRow.seq < before)
    if action is not None:
        query = query.where(AuditEntryRow.action == action)
    if object_id is not None:
        query = query.where(AuditEntryRow.object_id == object_id)
    return [_entry(row) for row in session.scalars(query)]


def _entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        created_at=row.created_at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        payload=json.loads(row.payload),
        payload_hash=row.payload_hash,
        prev_hash=row.prev_hash,
        mac=row.mac,
    )
