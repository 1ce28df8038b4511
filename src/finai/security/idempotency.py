"""Idempotency keys: a retried POST gets the first answer back and stores nothing twice.

A client that sends ``Idempotency-Key: <its own id for the request>`` may resend the
request as often as it likes (after a timeout, a dropped connection): the first answer
is kept with the key, in the same transaction as what the request stored, and every
retry with the same key and the same body gets that answer again. The same key with a
different body is refused, since it would be ambiguous which request was meant. Keys
are scoped to the API key that sent them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from finai.exceptions import Conflict
from finai.store import IdempotencyRow

HEADER = "Idempotency-Key"
PATTERN = r"^[\x21-\x7e]{1,200}$"
"""Visible ASCII, 1 to 200 characters (a UUID fits well)."""


@dataclass(frozen=True)
class Answer:
    """A stored first answer: its HTTP status and JSON body."""

    status: int
    body: str


def request_hash(route: str, canonical_body: str) -> str:
    """Return the hash identifying a request: its route and its canonical body."""
    return hashlib.sha256(f"{route}\n{canonical_body}".encode()).hexdigest()


def replay(
    session: Session, *, key_id: str, idempotency_key: str, route: str, digest: str
) -> Answer | None:
    """Return the first answer to this key, or None when the key is new.

    Raises
    ------
    Conflict
        (``field="Idempotency-Key"``) when the key was used for another request.
    """
    row = session.scalar(
        select(IdempotencyRow).where(
            IdempotencyRow.key_id == key_id, IdempotencyRow.idempotency_key == idempotency_key
        )
    )
    if row is None:
        return None
    if row.route != route or row.request_hash != digest:
        raise Conflict(
            "this Idempotency-Key was already used for a different request",
            field=HEADER,
        )
    return Answer(row.status, row.body)


def remember(
    session: Session,
    *,
    key_id: str,
    idempotency_key: str,
    route: str,
    digest: str,
    answer: Answer,
) -> None:
    """Keep ``answer`` for the key, in the caller's transaction (the caller commits).

    If a concurrent retry committed first, the commit fails on the primary key and the
    caller rolls back its own work and replays that answer instead.
    """
    session.add(
        IdempotencyRow(
            key_id=key_id,
            idempotency_key=idempotency_key,
            route=route,
            request_hash=digest,
            status=answer.status,
            body=answer.body,
        )
    )
