"""What became of decided loans: defaulted or not, reported by decision id.

Outcomes arrive long after the decision (a PD is usually defined over a twelve-month
window), in batches, and sometimes more than once for the same loan: a loan reported
as performing may default later, and a file may be sent twice. The rules are:

* a decision keeps one outcome, and the report with the latest ``observed_at`` wins;
* a report that agrees with the stored outcome (same ``defaulted``) changes nothing,
  so the first time it was observed stays, and sending a batch again is harmless;
* a report that disagrees replaces the stored one when it is observed at the same
  time or later, and is counted ``stale`` and ignored when observed earlier.

A batch is checked whole before anything is written: every decision id must exist,
no id may appear twice, and each ``observed_at`` must lie between its decision's time
and now. One audit entry per batch records the count and a sha256 over the batch.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from finai.exceptions import NotFound, ValidationError
from finai.security import audit
from finai.store import CreditDecisionRow, CreditOutcomeRow, utcnow

MAX_OUTCOMES = 10_000
"""Most outcomes one batch may carry."""

CLOCK_SKEW = timedelta(minutes=5)
"""How far past the server's clock an ``observed_at`` may lie (the sender's clock may run ahead)."""

_MAX_ID = 32
_CHUNK = 1_000  # ids per IN (...) query, well inside every database's parameter limit
_SHOWN = 5  # unknown or repeated ids named in an error message


@dataclass(frozen=True)
class OutcomeReport:
    """One reported outcome of a decided loan.

    Attributes
    ----------
    decision_id
        The id of the stored credit decision.
    defaulted
        True when the loan defaulted (the "bad" event the PD predicts).
    observed_at
        When it was observed, timezone-aware UTC; None means now.
    """

    decision_id: str
    defaulted: bool
    observed_at: datetime | None = None


@dataclass(frozen=True)
class OutcomeCounts:
    """What a batch of outcomes did.

    Attributes
    ----------
    recorded
        Decisions that had no outcome and now have one.
    updated
        Stored outcomes replaced by a newer, different report.
    unchanged
        Reports that agree with the stored outcome (nothing written).
    stale
        Reports that disagree with the stored outcome but were observed before it
        (ignored: the newest report wins).
    """

    recorded: int
    updated: int
    unchanged: int
    stale: int


def record_outcomes(
    session: Session,
    audit_key: bytes,
    items: Sequence[OutcomeReport],
    *,
    actor: str,
) -> OutcomeCounts:
    """Store the outcomes of decided loans and audit the batch in the caller's transaction.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    audit_key
        The audit chain's HMAC key.
    items
        The reports, at most :data:`MAX_OUTCOMES`, each decision id at most once.
    actor
        Key id of who reported them.

    Returns
    -------
    OutcomeCounts
        How many were recorded, updated, unchanged or stale.

    Raises
    ------
    ValidationError
        For an empty or oversized batch, a repeated decision id, a malformed id or
        verdict, a naive ``observed_at``, or one before its decision or in the future.
        Nothing is written.
    NotFound
        When a decision id is unknown (the message names them); nothing is written.

    Examples
    --------
    >>> counts = record_outcomes(session, key, [OutcomeReport(decision_id, True)], actor="k1")
    >>> counts.recorded
    1
    """
    now = utcnow()
    _check_batch(items)
    ids = sorted(item.decision_id for item in items)
    decided = _decision_times(session, ids)
    unknown = [i for i in ids if i not in decided]
    if unknown:
        raise NotFound(
            f"{len(unknown)} unknown decision id(s): {_names(unknown)}", field="decision_id"
        )
    reports = [_resolved(item, decided[item.decision_id], now) for item in items]
    stored = _stored(session, ids)
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    unchanged = stale = 0
    for decision_id, defaulted, observed_at in reports:
        row = {
            "decision_id": decision_id,
            "defaulted": defaulted,
            "observed_at": observed_at,
            "recorded_at": now,
            "actor": actor,
        }
        previous = stored.get(decision_id)
        if previous is None:
            inserts.append(row)
        elif previous[0] == defaulted:
            unchanged += 1
        elif observed_at >= previous[1]:
            updates.append(row)
        else:
            stale += 1
    if inserts:
        session.execute(insert(CreditOutcomeRow), inserts)
    if updates:
        session.execute(update(CreditOutcomeRow), updates)
    counts = OutcomeCounts(len(inserts), len(updates), unchanged, stale)
    digest = _digest(reports)
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="credit.outcomes",
        object_type="credit_outcomes",
        object_id=digest,
        payload={
            "count": len(reports),
            "sha256": digest,
            "recorded": counts.recorded,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "stale": counts.stale,
        },
    )
    return counts


def _check_batch(items: Sequence[OutcomeReport]) -> None:
    if not items:
        raise ValidationError("no outcomes given", field="outcomes")
    if len(items) > MAX_OUTCOMES:
        raise ValidationError(
            f"{len(items):,} outcomes given; at most {MAX_OUTCOMES:,} per batch", field="outcomes"
        )
    seen: set[str] = set()
    repeated: list[str] = []
    for item in items:
        decision_id = item.decision_id
        if not isinstance(decision_id, str) or not 0 < len(decision_id) <= _MAX_ID:
            raise ValidationError(
                f"decision_id must be 1 to {_MAX_ID} characters", field="decision_id"
            )
        if not isinstance(item.defaulted, bool):
            raise ValidationError("defaulted must be true or false", field="defaulted")
        if decision_id in seen and decision_id not in repeated:
            repeated.append(decision_id)
        seen.add(decision_id)
    if repeated:
        raise ValidationError(
            f"decision id(s) given more than once in the batch: {_names(repeated)}",
            field="decision_id",
        )


def _resolved(
    item: OutcomeReport, decided_at: datetime, now: datetime
) -> tuple[str, bool, datetime]:
    observed_at = now if item.observed_at is None else item.observed_at
    if observed_at.tzinfo is None:
        raise ValidationError(
            f"observed_at of decision {item.decision_id} has no time zone; give UTC",
            field="observed_at",
        )
    if observed_at < decided_at:
        raise ValidationError(
            f"observed_at of decision {item.decision_id} is before the decision"
            f" ({decided_at.isoformat()})",
            field="observed_at",
        )
    if observed_at > now + CLOCK_SKEW:
        raise ValidationError(
            f"observed_at of decision {item.decision_id} is in the future", field="observed_at"
        )
    return item.decision_id, item.defaulted, observed_at


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _decision_times(session: Session, ids: Sequence[str]) -> dict[str, datetime]:
    """Return each known decision's time, locking the rows against a concurrent report.

    ``FOR NO KEY UPDATE`` (PostgreSQL; SQLite locks the database on write) makes two
    batches on the same decisions take turns, in id order, so neither misses the
    other's outcome; it does not block rows that merely reference a decision.
    """
    found: dict[str, datetime] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(CreditDecisionRow.id, CreditDecisionRow.created_at)
            .where(CreditDecisionRow.id.in_(chunk))
            .order_by(CreditDecisionRow.id)
            .with_for_update(key_share=True)
        )
        found.update({row.id: row.created_at for row in rows})
    return found


def _stored(session: Session, ids: Sequence[str]) -> dict[str, tuple[bool, datetime]]:
    found: dict[str, tuple[bool, datetime]] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(
                CreditOutcomeRow.decision_id,
                CreditOutcomeRow.defaulted,
                CreditOutcomeRow.observed_at,
            ).where(CreditOutcomeRow.decision_id.in_(chunk))
        )
        found.update({row.decision_id: (row.defaulted, row.observed_at) for row in rows})
    return found


def _digest(reports: Sequence[tuple[str, bool, datetime]]) -> str:
    """sha256 over the batch in decision-id order: ``id|0 or 1|observed_at`` lines."""
    lines = (
        f"{decision_id}|{int(defaulted)}|{observed_at.astimezone(UTC).isoformat()}"
        for decision_id, defaulted, observed_at in sorted(reports)
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _names(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_SHOWN])
    return shown + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


def outcomes_from_frame(frame: pd.DataFrame) -> list[OutcomeReport]:
    """Read outcome reports from a table with ``decision_id``, ``defaulted`` and ``observed_at``.

    Parameters
    ----------
    frame
        One row per decision. ``defaulted`` holds booleans, 0/1, or the words
        true/false, yes/no, y/n (any case). ``observed_at`` is optional, and so is each
        of its cells (empty means now); times without a zone are taken as UTC.

    Returns
    -------
    list[OutcomeReport]
        In the table's order, any number of rows (:func:`record_outcomes` takes at
        most :data:`MAX_OUTCOMES` at a time).

    Raises
    ------
    ValidationError
        For a missing column, an empty table, an empty decision id, a verdict or time
        that cannot be read (the row is named, counting from 1), or a decision id given
        twice.
    """
    missing = [c for c in ("decision_id", "defaulted") if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"the table has no {' or '.join(missing)} column (columns: decision_id,"
            " defaulted, optional observed_at)",
            field=missing[0],
        )
    if frame.empty:
        raise ValidationError("the table has no rows", field="outcomes")
    ids = [_id_text(value, row) for row, value in enumerate(frame["decision_id"], start=1)]
    verdicts = [_verdict(value, row) for row, value in enumerate(frame["defaulted"], start=1)]
    times: list[datetime | None] = [None] * len(frame)
    if "observed_at" in frame.columns:
        times = [_time(value, row) for row, value in enumerate(frame["observed_at"], start=1)]
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise ValidationError(
            f"decision id(s) given more than once: {_names(repeated)}", field="decision_id"
        )
    return [OutcomeReport(i, v, t) for i, v, t in zip(ids, verdicts, times, strict=True)]


_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _id_text(value: object, row: int) -> str:
    if _blank(value):
        raise ValidationError(f"row {row}: decision_id is empty", field="decision_id")
    return str(value).strip()


def _verdict(value: object, row: int) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
        return bool(value)
    text = "" if _blank(value) else str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValidationError(
        f"row {row}: defaulted must be true/false, yes/no or 1/0, got {value!r}",
        field="defaulted",
    )


def _time(value: object, row: int) -> datetime | None:
    if _blank(value):
        return None
    try:
        stamp: object = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(
            f"row {row}: observed_at {value!r} is not a date or time", field="observed_at"
        ) from None
    if not isinstance(stamp, pd.Timestamp):  # NaT
        return None
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def _blank(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return value is None or value is pd.NaT or value is pd.NA
