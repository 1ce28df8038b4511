"""Idempotency keys: a retried POST gets the first answer back and stores nothing twice.

A client that sends ``Idempotency-Key: <its own id for the request>`` may resend the
request as often as it likes (after a timeout, a dropped connection): the first answer
is kept with the key, in the same transaction as what the request stored, and every
retry with the same key and the same body gets that answer again. The same key with a
different body is refused, since it would be ambiguous which request was meant. Keys
are scoped to the API key that sent them.

An answer can hold personal data (a decision's reasons name the applicant's values), so
it is kept sealed (:mod:`finai.security.vault`): under the person's own data key when
the request names one (erasing them makes the kept answer unreadable too), else under
the data key of :data:`ANSWERS_SUBJECT`. Only the route, a hash of the request and the
status are kept in the clear.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from finai.exceptions import Conflict, IntegrityError
from finai.security.vault import Vault
from finai.store import IdempotencyRow

HEADER = "Idempotency-Key"
PATTERN = r"^[\x21-\x7e]{1,200}$"
"""Visible ASCII, 1 to 200 characters (a UUID fits well)."""
PURPOSE = "idempotency.answer"
SEALED = "sealed:"
"""Prefix of a stored body that is sealed (base64 follows); no JSON body starts so."""
ANSWERS_SUBJECT = "finai-system:answers-to-requests-that-name-no-person:idempotency"
"""The vault subject whose data key seals answers to requests without a person.

Longer than any national id the API takes, so no applicant can share its key."""


@dataclass(frozen=True)
class Answer:
    """A stored first answer: its HTTP status and JSON body."""

    status: int
    body: str


def request_hash(route: str, canonical_body: str) -> str:
    """Return the hash identifying a request: its route and its canonical body."""
    return hashlib.sha256(f"{route}\n{canonical_body}".encode()).hexdigest()


def seal_body(session: Session, vault: Vault | None, body: str, *, subject: str | None) -> str:
    """Return ``body`` sealed for storing: under ``subject``'s data key, or the answers' key.

    Without a vault the body is kept as it is (an answer holding nothing personal).
    """
    if vault is None:
        return body
    sealed = vault.seal(session, subject or ANSWERS_SUBJECT, {"body": body}, purpose=PURPOSE)
    return SEALED + base64.b64encode(sealed).decode()


def open_body(session: Session, vault: Vault | None, stored: str) -> str:
    """Return the body :func:`seal_body` sealed (a body stored in the clear as it is).

    Raises
    ------
    Erased
        When the answer was sealed for a person who was erased since.
    IntegrityError
        When the stored bytes were altered.
    """
    if not stored.startswith(SEALED):
        return stored  # kept in the clear, or before answers were sealed
    if vault is None:
        raise IntegrityError("a sealed answer needs the vault to be opened")
    try:
        sealed = base64.b64decode(stored[len(SEALED) :], validate=True)
    except ValueError as exc:
        raise IntegrityError("a kept answer is damaged") from exc
    return str(vault.open(session, sealed, purpose=PURPOSE)["body"])


def replay(
    session: Session,
    vault: Vault | None,
    *,
    key_id: str,
    idempotency_key: str,
    route: str,
    digest: str,
) -> Answer | None:
    """Return the first answer to this key, or None when the key is new.

    Raises
    ------
    Conflict
        (``field="Idempotency-Key"``) when the key was used for another request.
    Erased
        When the first answer was about a person erased since: it cannot be given again.
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
    return Answer(row.status, open_body(session, vault, row.body))


def remember(
    session: Session,
    vault: Vault | None,
    *,
    key_id: str,
    idempotency_key: str,
    route: str,
    digest: str,
    answer: Answer,
    subject: str | None = None,
) -> None:
    """Keep ``answer`` for the key, sealed, in the caller's transaction (the caller commits).

    ``subject`` is the id of the person the request is about, if it names one.

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
            body=seal_body(session, vault, answer.body, subject=subject),
        )
    )
