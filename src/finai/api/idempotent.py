"""``Idempotency-Key`` on POSTs that store: the first answer is kept and replayed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Header, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlalchemy.orm import Session

from finai.security import idempotency
from finai.security.vault import Vault

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        pattern=idempotency.PATTERN,
        description="Your id for this request (visible ASCII, at most 200): a retry with"
        " the same key and body gets the first answer and stores nothing twice.",
    ),
]
REPLAYED = "Idempotent-Replayed"
Answered = TypeVar("Answered", bound=BaseModel)


def _replayed(answer: idempotency.Answer) -> Response:
    return Response(
        answer.body,
        status_code=answer.status,
        media_type="application/json",
        headers={REPLAYED: "true"},
    )


def once(
    session: Session,
    *,
    key_id: str,
    idempotency_key: str | None,
    route: str,
    request: BaseModel,
    status: int,
    work: Callable[[], Answered],
    vault: Vault | None = None,
    subject: str | None = None,
) -> Answered | Response:
    """Run ``work`` (which stores, uncommitted) once per key; commit it with its answer.

    A retry with the same key and body gets the first answer (header
    ``Idempotent-Replayed: true``); with another body, a 409. Without a key, ``work``
    runs and commits, and its answer goes back as the route's model.

    With ``vault``, the kept answer is sealed: under the data key of ``subject`` (the
    id of the person the request is about) when given, so that once that person is
    erased a retry gets their 404 "erased"; else under the vault's key for answers.
    Without ``vault`` it is kept in the clear: only for answers that hold nothing
    personal.
    """
    if idempotency_key is None:
        done = work()
        session.commit()
        return done
    digest = idempotency.request_hash(route, request.model_dump_json())
    scope = {"key_id": key_id, "idempotency_key": idempotency_key, "route": route}
    first = idempotency.replay(session, vault, **scope, digest=digest)
    if first is not None:
        return _replayed(first)
    answer = idempotency.Answer(status, work().model_dump_json())
    idempotency.remember(session, vault, **scope, digest=digest, answer=answer, subject=subject)
    try:
        session.commit()
    except DatabaseIntegrityError:  # a concurrent retry committed first: theirs stands
        session.rollback()
        first = idempotency.replay(session, vault, **scope, digest=digest)
        if first is None:
            raise
        return _replayed(first)
    return Response(answer.body, status_code=status, media_type="application/json")
