"""Fraud scoring, labels and the alert queue over HTTP."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from finai import fraud
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api
from finai.api.fraud_schemas import (
    AlertAssign,
    AlertPublic,
    AlertResolve,
    AlertsPublic,
    LabelsCreate,
    LabelsPublic,
    ScorePublic,
    StoredScorePublic,
    TransactionCreate,
)
from finai.api.idempotent import IdempotencyKey
from finai.api.schemas import RECORD_ID
from finai.exceptions import ValidationError
from finai.fraud import records
from finai.security.cards import card_ref

router = APIRouter(prefix="/v1/fraud", dependencies=[Depends(authorize_api)], tags=["fraud"])

AlertId = Annotated[str, Path(pattern=RECORD_ID)]
TransactionId = Annotated[str, Path(min_length=1, max_length=128)]


def scorers_of(request: Request) -> fraud.Scorers:
    """Return the app's scorers (one state store for the process)."""
    scorers: fraud.Scorers = request.app.state.fraud_scorers
    return scorers


ScorersDep = Annotated[fraud.Scorers, Depends(scorers_of)]


def writer(request: Request) -> fraud.ScoreWriter:
    """Return the app's score writer (batched storage off the request path)."""
    found: fraud.ScoreWriter = request.app.state.fraud_writer
    return found


@router.post("/score")
def score_transaction(
    request: Request,
    body: TransactionCreate,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    scorers: ScorersDep,
    idempotency_key: IdempotencyKey = None,
) -> ScorePublic:
    """Score one transaction: score, allow / review / block, and the top reasons.

    Reasons come with review and block, and with allow when `explain` is set.

    The online state counts each `transaction_id` once: a retry returns the first answer
    (`replayed`) and stores nothing again. The transaction id is thus the idempotency key
    of scores: an `Idempotency-Key` header, if sent, must equal it. When the state store
    is down the answer still comes, from the transaction alone, with `degraded` set. The
    score is stored and audited in a batch within `FINAI_FRAUD_WRITE_DELAY_MS` (50 ms by
    default) of the answer.
    """
    if idempotency_key is not None and idempotency_key != body.transaction_id:
        raise ValidationError(
            "for scores the transaction id is the idempotency key: send the same value"
            " as Idempotency-Key, or leave the header out",
            field="Idempotency-Key",
        )
    fields = body.model_dump(exclude={"model", "explain", "card_number"})
    if body.card_number is not None:  # from here on only the token, BIN and last four
        fields["customer_id"] = card_ref(body.card_number, platform.card_key).card_id
    tx = fraud.Transaction.from_mapping(fields)
    scorer = scorers.get(session, body.model or platform.settings.fraud_model)
    result = scorer.score(tx, explain=body.explain)
    # Stored ids are skipped, so a retry also stores a first answer a crash left unstored.
    writer(request).submit(tx, result, actor=key.id, source="api")
    return ScorePublic.from_domain(result)


@router.get("/scores/{transaction_id}")
def read_score(transaction_id: TransactionId, session: SessionDep) -> StoredScorePublic:
    """Show a stored score: the transaction, the answer and the model version."""
    return StoredScorePublic.from_stored(records.get_score(session, transaction_id))


@router.post("/labels", status_code=201)
def create_labels(
    body: LabelsCreate,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    scorers: ScorersDep,
) -> LabelsPublic:
    """Store chargebacks and analyst verdicts (all or none), then pass them to the state."""
    by_source: dict[str, list[tuple[str, bool]]] = {}
    for label in body.labels:
        by_source.setdefault(label.source, []).append((label.transaction_id, label.is_fraud))
    count = sum(
        records.save_labels(session, platform.audit_key, pairs, source=source, actor=key.id)
        for source, pairs in by_source.items()
    )
    session.commit()
    in_state = scorers.label([(label.transaction_id, label.is_fraud) for label in body.labels])
    return LabelsPublic(count=count, in_state=in_state)


@router.get("/alerts")
def list_alerts(
    session: SessionDep,
    status: Literal["open", "assigned", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AlertsPublic:
    """List alerts, newest first, optionally of one status."""
    data = [
        AlertPublic.from_domain(a)
        for a in records.list_alerts(session, status=status, limit=limit, offset=offset)
    ]
    total = records.count_alerts(session, status=status)
    return AlertsPublic(data=data, count=len(data), total=total)


@router.get("/alerts/{alert_id}")
def read_alert(alert_id: AlertId, session: SessionDep) -> AlertPublic:
    """Show one alert."""
    return AlertPublic.from_domain(records.get_alert(session, alert_id))


@router.post("/alerts/{alert_id}/assign")
def assign_alert(
    alert_id: AlertId,
    body: AlertAssign,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
) -> AlertPublic:
    """Give an alert to an analyst (audited); a resolved alert cannot be reassigned."""
    alert = records.assign_alert(
        session, platform.audit_key, alert_id, assignee=body.assignee or key.name, actor=key.id
    )
    session.commit()
    return AlertPublic.from_domain(alert)


@router.post("/alerts/{alert_id}/resolve")
def resolve_alert(
    alert_id: AlertId,
    body: AlertResolve,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    scorers: ScorersDep,
) -> AlertPublic:
    """Resolve an alert as fraud or legitimate (audited); the verdict becomes a label."""
    alert = records.resolve_alert(
        session,
        platform.audit_key,
        alert_id,
        resolution=body.resolution,
        actor=key.id,
        note=body.note,
    )
    session.commit()
    scorers.label([(alert.transaction_id, body.resolution == "fraud")])
    return AlertPublic.from_domain(alert)
