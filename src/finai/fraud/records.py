"""Stored fraud scores, the alert queue and labels, each change audited in the caller's session.

A score is stored once per transaction id: the first answer, so a replayed or retried
transaction stores nothing and opens no second alert. Every review or block score
opens an alert; analysts assign and resolve alerts, and a resolution is also a label.
Labels (from chargebacks, analysts and alerts) accumulate and the newest one per
transaction wins; :func:`labelled_transactions` joins them to the stored scores as the
next training set. Functions take a session and never commit: the change and its
audit entry land together when the caller commits.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4

import pandas as pd
from sqlalchemy import exc, func, insert, or_, select, update
from sqlalchemy.orm import Session

from finai.exceptions import Conflict, NotFound, ValidationError
from finai.fraud.artifact import Reason
from finai.fraud.scoring import ScoreResult, Transaction
from finai.fraud.thresholds import Action
from finai.fraud.transactions import AMOUNT, CARD, ID, LABEL, TERMINAL, TIME
from finai.security import audit
from finai.store import FraudAlertRow, FraudLabelRow, FraudScoreRow, utcnow

__all__ = [
    "ALERT_STATUSES",
    "LABEL_SOURCES",
    "RESOLUTIONS",
    "SCORE_SOURCES",
    "Alert",
    "DayStats",
    "StoredScore",
    "alert_for",
    "alert_stats",
    "assign_alert",
    "count_alerts",
    "get_alert",
    "get_score",
    "labelled_transactions",
    "list_alerts",
    "recent_scores",
    "resolve_alert",
    "save_labels",
    "save_scores",
]

SCORE_SOURCES = ("api", "stream")
LABEL_SOURCES = ("chargeback", "analyst", "alert")
ALERT_STATUSES = ("open", "assigned", "resolved")
RESOLUTIONS = ("fraud", "legitimate")

_MAX_ID = 128  # the column width of transaction ids
_MAX_ASSIGNEE = 100
_MAX_NOTE = 2000
_CHUNK = 1000  # ids per IN (...) lookup, well under every driver's parameter limit


@dataclass(frozen=True)
class StoredScore:
    """A stored score: the transaction, the answer, and who stored it from where.

    Attributes
    ----------
    occurred_at, scored_at
        When the transaction happened and when it was scored (aware UTC).
    amount
        Transaction amount, currency units.
    score
        Fraud score in [0, 1].
    reasons
        The features that raised the score, strongest first.
    degraded
        Scored without the card's and terminal's history (state store down).
    source
        ``"api"`` or ``"stream"``.
    actor
        Key id (or ``"system"``) that stored it.
    """

    transaction_id: str
    occurred_at: datetime
    scored_at: datetime
    customer_id: str
    terminal_id: str
    amount: float
    score: float
    action: Action
    model_name: str
    model_version: int
    reasons: tuple[Reason, ...]
    degraded: bool
    source: str
    actor: str


@dataclass(frozen=True)
class Alert:
    """A review or block score in the analysts' queue.

    Attributes
    ----------
    id
        32 hex digits.
    created_at
        When the transaction was scored (aware UTC).
    status
        ``"open"``, ``"assigned"`` or ``"resolved"``.
    resolution
        ``"fraud"`` or ``"legitimate"`` once resolved, else None.
    """

    id: str
    transaction_id: str
    created_at: datetime
    score: float
    action: Action
    amount: float
    status: str
    assignee: str | None = None
    resolution: str | None = None
    note: str = ""
    resolved_at: datetime | None = None
    resolved_by: str | None = None


@dataclass(frozen=True)
class DayStats:
    """Alert counts of one UTC day.

    Attributes
    ----------
    alerts
        Alerts opened that day.
    resolved
        Alerts resolved that day, of which ``fraud`` confirmed and ``legitimate`` cleared.
    """

    day: date
    alerts: int
    resolved: int
    fraud: int
    legitimate: int


# -- scores -------------------------------------------------------------------------------


def save_scores(
    session: Session,
    audit_key: bytes,
    results: Sequence[tuple[Transaction, ScoreResult]],
    *,
    actor: str,
    source: str,
) -> list[Alert]:
    """Store new scores, open an alert for each review or block, and audit them.

    Built for the stream's batches: one lookup of the ids already stored, one
    multi-row insert of the rest and one of their alerts. One stored score gets a
    ``fraud.score`` audit entry; several get one ``fraud.score.batch`` entry with
    their count and a sha256 over each score's digest, in the order given.

    Parameters
    ----------
    results
        Transactions and their scores. Ids already stored, or repeated in
        ``results``, keep their first answer: the repeat stores nothing.
    actor
        Key id (or ``"system"``) storing them.
    source
        ``"api"`` or ``"stream"``.

    Returns
    -------
    list of Alert
        The alerts opened, in the order of ``results``.

    Raises
    ------
    ValidationError
        For an unknown ``source`` or a score paired with another transaction.
    Conflict
        When another writer stored one of the ids meanwhile; roll back and retry
        (the retry skips it).
    """
    _choice(source, SCORE_SOURCES, "source")
    fresh: dict[str, tuple[Transaction, ScoreResult]] = {}
    for tx, result in results:
        if tx.transaction_id != result.transaction_id:
            raise ValidationError(
                f"score of {result.transaction_id!r} given for transaction {tx.transaction_id!r}",
                field="transaction_id",
            )
        fresh.setdefault(tx.transaction_id, (tx, result))
    for stored in _stored_ids(session, list(fresh)):
        del fresh[stored]
    if not fresh:
        return []
    alerts = [_new_alert(tx, r) for tx, r in fresh.values() if r.action is not Action.ALLOW]
    try:
        session.execute(
            insert(FraudScoreRow), [_score_row(tx, r, actor, source) for tx, r in fresh.values()]
        )
        if alerts:
            session.execute(
                insert(FraudAlertRow), [{**asdict(a), "action": a.action.value} for a in alerts]
            )
    except exc.IntegrityError as error:
        raise Conflict(
            "a transaction of this batch was stored by another writer meanwhile; retry",
            field="transaction_id",
        ) from error
    _audit(
        session,
        audit_key,
        actor=actor,
        action="fraud.score",
        object_type="fraud_score",
        items=[(tx.transaction_id, _score_digest(tx, r)) for tx, r in fresh.values()],
        payload={"source": source, "alerts": len(alerts)},
    )
    return alerts


def get_score(session: Session, transaction_id: str) -> StoredScore:
    """Return the stored score of a transaction.

    Raises
    ------
    NotFound
        When no score is stored for ``transaction_id``.
    """
    row = session.get(FraudScoreRow, transaction_id)
    if row is None:
        raise NotFound(
            f"no score stored for transaction {transaction_id!r}", field="transaction_id"
        )
    return _score_view(row)


def recent_scores(
    session: Session, *, since: datetime | None = None, limit: int = 1000
) -> list[StoredScore]:
    """Return stored scores newest first, at most ``limit``, scored at or after ``since``.

    Raises
    ------
    ValidationError
        For a naive ``since`` or a ``limit`` below 1.
    """
    query = (
        select(FraudScoreRow)
        .order_by(FraudScoreRow.scored_at.desc(), FraudScoreRow.transaction_id)
        .limit(_at_least(limit, 1, "limit"))
    )
    if since is not None:
        if since.utcoffset() is None:
            raise ValidationError("since must be timezone-aware (UTC)", field="since")
        query = query.where(FraudScoreRow.scored_at >= since)
    return [_score_view(row) for row in session.scalars(query)]


# -- alerts -------------------------------------------------------------------------------


def list_alerts(
    session: Session, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[Alert]:
    """Return alerts newest first, optionally of one ``status``, a page at a time.

    Raises
    ------
    ValidationError
        For an unknown ``status``, a ``limit`` below 1 or a negative ``offset``.
    """
    query = (
        select(FraudAlertRow)
        .order_by(FraudAlertRow.created_at.desc(), FraudAlertRow.id)
        .limit(_at_least(limit, 1, "limit"))
        .offset(_at_least(offset, 0, "offset"))
    )
    if status is not None:
        query = query.where(FraudAlertRow.status == _choice(status, ALERT_STATUSES, "status"))
    return [_alert_view(row) for row in session.scalars(query)]


def count_alerts(session: Session, *, status: str | None = None) -> int:
    """Return how many alerts there are, optionally of one ``status``.

    Raises
    ------
    ValidationError
        For an unknown ``status``.
    """
    query = select(func.count()).select_from(FraudAlertRow)
    if status is not None:
        query = query.where(FraudAlertRow.status == _choice(status, ALERT_STATUSES, "status"))
    return int(session.scalar(query) or 0)


def alert_for(session: Session, transaction_id: str) -> Alert | None:
    """Return the alert of a transaction, or None when its score raised none."""
    row = session.scalar(
        select(FraudAlertRow).where(FraudAlertRow.transaction_id == transaction_id)
    )
    return None if row is None else _alert_view(row)


def get_alert(session: Session, alert_id: str) -> Alert:
    """Return one alert.

    Raises
    ------
    NotFound
        When there is no alert ``alert_id``.
    """
    row = session.get(FraudAlertRow, alert_id)
    if row is None:
        raise NotFound(f"no alert with id {alert_id!r}", field="alert_id")
    return _alert_view(row)


def assign_alert(
    session: Session, audit_key: bytes, alert_id: str, *, assignee: str, actor: str
) -> Alert:
    """Assign an open or assigned alert to an analyst (audited).

    Raises
    ------
    ValidationError
        For an empty or overlong ``assignee``.
    NotFound
        When there is no alert ``alert_id``.
    Conflict
        When the alert is already resolved.
    """
    if not assignee.strip() or len(assignee) > _MAX_ASSIGNEE:
        raise ValidationError(f"assignee must be 1 to {_MAX_ASSIGNEE} characters", field="assignee")
    row = _unresolved(session, alert_id, status="assigned", assignee=assignee)
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="fraud.alert.assign",
        object_type="fraud_alert",
        object_id=alert_id,
        payload={"assignee": assignee},
    )
    return _alert_view(row)


def resolve_alert(
    session: Session,
    audit_key: bytes,
    alert_id: str,
    *,
    resolution: str,
    actor: str,
    note: str = "",
) -> Alert:
    """Resolve an alert as fraud or legitimate and label its transaction (audited).

    The label (source ``"alert"``) goes to the database only; the caller passes it
    to the state store (``FraudScorer.label``) after committing.

    Raises
    ------
    ValidationError
        For a ``resolution`` other than ``"fraud"`` or ``"legitimate"``, or a note
        longer than 2000 characters.
    NotFound
        When there is no alert ``alert_id``.
    Conflict
        When the alert is already resolved (by this or another analyst).
    """
    _choice(resolution, RESOLUTIONS, "resolution")
    if len(note) > _MAX_NOTE:
        raise ValidationError(f"note must be at most {_MAX_NOTE} characters", field="note")
    now = utcnow()
    row = _unresolved(
        session,
        alert_id,
        status="resolved",
        resolution=resolution,
        note=note,
        resolved_at=now,
        resolved_by=actor,
    )
    session.add(
        FraudLabelRow(
            transaction_id=row.transaction_id,
            is_fraud=resolution == "fraud",
            source="alert",
            actor=actor,
            created_at=now,
        )
    )
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="fraud.alert.resolve",
        object_type="fraud_alert",
        object_id=alert_id,
        payload={"resolution": resolution, "transaction_id": row.transaction_id},
    )
    return _alert_view(row)


def alert_stats(session: Session, *, days: int = 30) -> list[DayStats]:
    """Count alerts opened and resolved per UTC day, over the last ``days`` days.

    Returns
    -------
    list of DayStats
        One per day, oldest first, ending today (UTC); days without alerts count 0.

    Raises
    ------
    ValidationError
        For ``days`` below 1.
    """
    first = utcnow().date() - timedelta(days=_at_least(days, 1, "days") - 1)
    start = datetime.combine(first, time(), tzinfo=UTC)
    counts = {first + timedelta(days=i): [0, 0, 0, 0] for i in range(days)}
    rows = session.execute(
        select(FraudAlertRow.created_at, FraudAlertRow.resolved_at, FraudAlertRow.resolution).where(
            or_(FraudAlertRow.created_at >= start, FraudAlertRow.resolved_at >= start)
        )
    )
    for created_at, resolved_at, resolution in rows:
        if (opened := counts.get(created_at.date())) is not None:
            opened[0] += 1
        if resolved_at is not None and (closed := counts.get(resolved_at.date())) is not None:
            closed[1] += 1
            closed[2 if resolution == "fraud" else 3] += 1
    return [DayStats(day, *values) for day, values in counts.items()]


# -- labels -------------------------------------------------------------------------------


def save_labels(
    session: Session,
    audit_key: bytes,
    labels: Sequence[tuple[str, bool]],
    *,
    source: str,
    actor: str,
) -> int:
    """Store fraud verdicts on transactions, scored here or not (audited).

    One label gets a ``fraud.label`` audit entry, several one ``fraud.label.batch``
    entry with their count and digest. The newest label of a transaction wins, also
    within ``labels``.

    Parameters
    ----------
    labels
        ``(transaction_id, is_fraud)`` pairs.
    source
        ``"chargeback"``, ``"analyst"`` or ``"alert"``.

    Returns
    -------
    int
        Labels stored (one per distinct transaction id).

    Raises
    ------
    ValidationError
        For an unknown ``source``, an empty or overlong transaction id, or a verdict
        that is not a bool; nothing is stored.
    """
    _choice(source, LABEL_SOURCES, "source")
    latest: dict[str, bool] = {}
    for transaction_id, is_fraud in labels:
        if not isinstance(transaction_id, str) or not 0 < len(transaction_id) <= _MAX_ID:
            raise ValidationError(
                f"transaction_id must be 1 to {_MAX_ID} characters", field="transaction_id"
            )
        if not isinstance(is_fraud, bool):
            raise ValidationError("is_fraud must be true or false", field="is_fraud")
        latest[transaction_id] = is_fraud
    if not latest:
        return 0
    now = utcnow()
    session.execute(
        insert(FraudLabelRow),
        [
            {
                "transaction_id": t,
                "is_fraud": f,
                "source": source,
                "actor": actor,
                "created_at": now,
            }
            for t, f in latest.items()
        ],
    )
    _audit(
        session,
        audit_key,
        actor=actor,
        action="fraud.label",
        object_type="fraud_label",
        items=[(t, _sha256([t, str(int(f))])) for t, f in latest.items()],
        payload={"source": source},
    )
    return len(latest)


def labelled_transactions(
    session: Session, *, genuine_after: timedelta | None = None
) -> pd.DataFrame:
    """Return the stored scores' transactions with their newest label: the next training set.

    Parameters
    ----------
    genuine_after
        When given, a transaction without a label that is older than this before the
        newest stored transaction counts as genuine (0): no chargeback came within the
        label delay, the rule the features' delay assumes. Without it, such labels stay
        missing.

    Returns
    -------
    pandas.DataFrame
        The canonical transaction frame of :mod:`finai.fraud.transactions`
        (``transaction_id``, ``timestamp``, ``customer_id``, ``terminal_id``,
        ``amount``, ``is_fraud``), sorted by time then id; ``is_fraud`` is nullable
        ``Int8``, missing where no label came yet. Labels of transactions not
        scored here are left out (their features cannot be rebuilt).
    """
    newest = select(func.max(FraudLabelRow.id)).group_by(FraudLabelRow.transaction_id)
    labels = (
        select(FraudLabelRow.transaction_id, FraudLabelRow.is_fraud)
        .where(FraudLabelRow.id.in_(newest))
        .subquery()
    )
    query = select(
        FraudScoreRow.transaction_id,
        FraudScoreRow.occurred_at,
        FraudScoreRow.customer_id,
        FraudScoreRow.terminal_id,
        FraudScoreRow.amount,
        labels.c.is_fraud,
    ).outerjoin(labels, labels.c.transaction_id == FraudScoreRow.transaction_id)
    rows = session.execute(query).all()
    ids, times, cards, terminals, amounts, verdicts = ([row[i] for row in rows] for i in range(6))
    frame = pd.DataFrame(
        {
            ID: pd.Series(ids, dtype="str"),
            TIME: pd.Series(pd.to_datetime(times, utc=True)).dt.as_unit("us"),
            CARD: pd.Series(cards, dtype="str"),
            TERMINAL: pd.Series(terminals, dtype="str"),
            AMOUNT: pd.Series(amounts, dtype="float64"),
            LABEL: pd.Series([None if v is None else int(v) for v in verdicts], dtype="Int8"),
        }
    )
    if genuine_after is not None and len(frame):
        if genuine_after < timedelta(0):
            raise ValidationError("genuine_after must not be negative", field="genuine_after")
        settled = frame[TIME] <= frame[TIME].max() - genuine_after
        frame.loc[settled & frame[LABEL].isna(), LABEL] = 0
    return frame.sort_values([TIME, ID], kind="stable", ignore_index=True)


# -- helpers ------------------------------------------------------------------------------


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise ValidationError(
            f"{field} must be one of {', '.join(allowed)}, got {str(value)[:40]!r}", field=field
        )
    return value


def _at_least(value: int, least: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValidationError(f"{field} must be a whole number >= {least}", field=field)
    return value


def _sha256(parts: Iterable[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _audit(
    session: Session,
    key: bytes,
    *,
    actor: str,
    action: str,
    object_type: str,
    items: list[tuple[str, str]],
    payload: dict[str, Any],
) -> None:
    """One entry for one ``(object id, digest)``; one ``.batch`` entry for several."""
    if len(items) == 1:
        object_id, digest = items[0]
        audit.append(
            session,
            key,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            payload={"digest": digest, **payload},
        )
        return
    digest = _sha256(d for _, d in items)
    audit.append(
        session,
        key,
        actor=actor,
        action=f"{action}.batch",
        object_type=f"{object_type}_batch",
        object_id=digest,
        payload={"count": len(items), "digest": digest, **payload},
    )


def _score_digest(tx: Transaction, result: ScoreResult) -> str:
    """Hash what a stored score says, for the audit chain."""
    return _sha256(
        [
            tx.transaction_id,
            tx.timestamp.astimezone(UTC).isoformat(),
            repr(tx.amount),
            repr(result.score),
            result.action.value,
            result.model_name,
            str(result.model_version),
            result.scored_at.astimezone(UTC).isoformat(),
        ]
    )


def _stored_ids(session: Session, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = select(FraudScoreRow.transaction_id).where(FraudScoreRow.transaction_id.in_(chunk))
        found.update(session.scalars(query))
    return found


def _json_number(value: float) -> float | None:
    """JSON has no NaN or infinity (PostgreSQL refuses them): store None."""
    return float(value) if math.isfinite(value) else None


def _score_row(tx: Transaction, result: ScoreResult, actor: str, source: str) -> dict[str, Any]:
    return {
        "transaction_id": tx.transaction_id,
        "occurred_at": tx.timestamp,
        "scored_at": result.scored_at,
        "customer_id": tx.customer_id,
        "terminal_id": tx.terminal_id,
        "amount": float(tx.amount),
        "score": float(result.score),
        "action": result.action.value,
        "model_name": result.model_name,
        "model_version": result.model_version,
        "reasons": [
            {
                "feature": r.feature,
                "value": _json_number(r.value),
                "contribution": _json_number(r.contribution),
            }
            for r in result.reasons
        ],
        "degraded": result.degraded,
        "source": source,
        "actor": actor,
    }


def _new_alert(tx: Transaction, result: ScoreResult) -> Alert:
    return Alert(
        id=uuid4().hex,
        transaction_id=tx.transaction_id,
        created_at=result.scored_at,
        score=float(result.score),
        action=result.action,
        amount=float(tx.amount),
        status="open",
    )


def _unresolved(session: Session, alert_id: str, **values: Any) -> FraudAlertRow:
    """Update an alert unless resolved, in one statement: two resolvers cannot both win."""
    row = session.scalars(
        update(FraudAlertRow)
        .where(FraudAlertRow.id == alert_id, FraudAlertRow.status != "resolved")
        .values(**values)
        .returning(FraudAlertRow)
    ).one_or_none()
    if row is None:
        get_alert(session, alert_id)  # NotFound when there is no such alert
        raise Conflict(f"alert {alert_id!r} is already resolved", field="alert_id")
    return row


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _score_view(row: FraudScoreRow) -> StoredScore:
    return StoredScore(
        transaction_id=row.transaction_id,
        occurred_at=row.occurred_at,
        scored_at=row.scored_at,
        customer_id=row.customer_id,
        terminal_id=row.terminal_id,
        amount=row.amount,
        score=row.score,
        action=Action(row.action),
        model_name=row.model_name,
        model_version=row.model_version,
        reasons=tuple(
            Reason(r["feature"], _number(r["value"]), _number(r["contribution"]))
            for r in row.reasons
        ),
        degraded=row.degraded,
        source=row.source,
        actor=row.actor,
    )


def _alert_view(row: FraudAlertRow) -> Alert:
    return Alert(
        id=row.id,
        transaction_id=row.transaction_id,
        created_at=row.created_at,
        score=row.score,
        action=Action(row.action),
        amount=row.amount,
        status=row.status,
        assignee=row.assignee,
        resolution=row.resolution,
        note=row.note,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
    )
