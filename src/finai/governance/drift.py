"""Drift: how far a credit model's applicants have moved from those it was trained on.

The measure is the population stability index (PSI) between the share of rows in each
bin of the training reference (``expected``, stored in the model at training, see
:class:`~finai.credit.DriftReference`) and the share in the same bins now (``actual``)::

    PSI = sum over bins of (actual - expected) * ln(actual / expected)

Computed on the credit score it is called PSI; on one feature, the characteristic
stability index (CSI). A share of 0 is raised to :data:`PSI_FLOOR` first (``ln 0`` is
undefined), so a bin empty on one side adds a large, finite amount. The usual bands:
below :data:`WATCH` (0.1) **stable**, from 0.1 to :data:`ACT` (0.25) inclusive
**watch**, above 0.25 **act**.

"Now" is either a table of current applicants (:func:`drift_report`) or the decisions
stored in a time window (:func:`stored_drift`): each stored decision keeps its score and
the reference bin each feature fell in (not the values), so no applicant data is read
back. Models trained before references were recorded have only a sample of training
scores: their reports hold the score's PSI and no features.

A check is kept (:func:`record_check`, a :class:`~finai.store.DriftCheckRow` and an
audit entry ``model.drift_check``); :class:`DriftSchedule` runs stored checks of every
credit champion in the background of the service.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from finai import credit
from finai.exceptions import FinAIError, NotFound, ValidationError
from finai.registry import Stage
from finai.security import audit
from finai.store import CreditDecisionRow, DriftCheckRow, ModelVersionRow, utcnow

logger = logging.getLogger(__name__)

Band = Literal["stable", "watch", "act"]
Source = Literal["file", "stored", "scheduled"]

PSI_FLOOR = 1e-4
"""Shares below this (an empty bin on either side) are raised to it before the logarithm."""

WATCH = 0.1
"""PSI from here up to :data:`ACT` (inclusive) is "watch": look into it."""

ACT = 0.25
"""PSI above this is "act": the population has shifted; review the model."""

BANDS: tuple[Band, ...] = ("stable", "watch", "act")
"""The bands from best to worst."""

DRIFT_DAYS = 30
"""Default window of a stored-decisions check, in days."""

MAX_DRIFT_DAYS = 3660
"""Longest window of a stored-decisions check, in days."""

READ_BATCH = 5_000
"""Stored decisions are read this many at a time."""


def band(value: float) -> Band:
    """Return the band of a PSI: ``stable`` below 0.1, ``watch`` to 0.25, ``act`` above.

    Examples
    --------
    >>> band(0.0999), band(0.1), band(0.25), band(0.2501)
    ('stable', 'watch', 'watch', 'act')
    """
    if value < WATCH:
        return "stable"
    return "watch" if value <= ACT else "act"


def psi(expected_props: Sequence[float], actual_props: Sequence[float]) -> float:
    """Return the PSI of ``actual_props`` against ``expected_props`` (shares of the same bins).

    Each share below :data:`PSI_FLOOR` is raised to it, so a bin that is empty on one
    side contributes a large but finite amount instead of an infinite one.

    Parameters
    ----------
    expected_props
        Reference share of rows per bin (training), each in [0, 1], summing to 1.
    actual_props
        Current share of rows in the same bins.

    Raises
    ------
    ValidationError
        When the two have different lengths, no bins, or a share outside [0, 1].

    Examples
    --------
    >>> round(psi([0.5, 0.5], [0.6, 0.4]), 6)
    0.040547
    >>> psi([0.2, 0.8], [0.2, 0.8])
    0.0
    """
    expected = np.asarray(expected_props, dtype=np.float64)
    actual = np.asarray(actual_props, dtype=np.float64)
    if expected.shape != actual.shape or expected.ndim != 1 or not len(expected):
        raise ValidationError(
            "expected and actual shares must be two lists of the same, non-zero length",
            field="bins",
        )
    both = np.concatenate([expected, actual])
    if not np.isfinite(both).all() or (both < 0).any() or (both > 1).any():
        raise ValidationError("bin shares must be numbers in [0, 1]", field="bins")
    e = np.maximum(expected, PSI_FLOOR)
    a = np.maximum(actual, PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def worst(bands: Sequence[Band]) -> Band:
    """Return the worst of ``bands`` (``stable`` for none)."""
    return max(bands, key=BANDS.index, default="stable")


@dataclass(frozen=True)
class BinShare:
    """One bin of a drift comparison.

    Attributes
    ----------
    label
        The bin: a value range, a category, ``other`` or ``missing``.
    expected, actual
        Share of the training rows and of the current rows in the bin, in [0, 1].
    """

    label: str
    expected: float
    actual: float


@dataclass(frozen=True)
class FeatureDrift:
    """The PSI of the score or of one feature (CSI) and its band.

    Attributes
    ----------
    feature
        The feature's name, or ``score``.
    psi
        The index, >= 0.
    band
        ``stable``, ``watch`` or ``act``.
    bins
        The shares behind it (empty for a check read back from storage).
    """

    feature: str
    psi: float
    band: Band
    bins: tuple[BinShare, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"feature", "psi", "band"}``."""
        return {"feature": self.feature, "psi": self.psi, "band": self.band}


@dataclass(frozen=True)
class DriftReport:
    """A drift check of one model version.

    Attributes
    ----------
    model, version
        The model version checked.
    rows
        Current rows compared with the reference (applicants or stored decisions).
    score
        PSI of the credit score.
    features
        CSI per feature, worst first (empty when the model has no feature reference).
    status
        The worst band of the score and every feature.
    window_start, window_end
        The decisions' time window (UTC; ``created_at`` from start, before end); None
        for a table of applicants.
    """

    model: str
    version: int
    rows: int
    score: FeatureDrift
    features: tuple[FeatureDrift, ...]
    status: Band
    window_start: datetime | None = None
    window_end: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: model, version, rows, score, features, status, window."""
        return {
            "model": self.model,
            "version": self.version,
            "rows": self.rows,
            "score": {"psi": self.score.psi, "band": self.score.band},
            "features": [f.to_dict() for f in self.features],
            "status": self.status,
            "window": None
            if self.window_start is None or self.window_end is None
            else {"start": self.window_start.isoformat(), "end": self.window_end.isoformat()},
        }


@dataclass(frozen=True)
class DriftCheck:
    """A stored drift check.

    Attributes
    ----------
    id
        The check's number.
    checked_at
        When it ran (UTC).
    source
        ``file`` (a table of applicants), ``stored`` (stored decisions, on request) or
        ``scheduled`` (stored decisions, by the service's schedule).
    actor
        Key id of who ran it, or ``system``.
    report
        What it found (without per-bin shares).
    """

    id: int
    checked_at: datetime
    source: str
    actor: str
    report: DriftReport


def _compare(
    reference: credit.ReferenceBins, counts: npt.NDArray[np.int64], total: int
) -> FeatureDrift:
    actual = counts / total
    value = psi(reference.proportions, actual.tolist())
    shares = tuple(
        BinShare(label, e, float(a))
        for label, e, a in zip(reference.labels, reference.proportions, actual, strict=True)
    )
    return FeatureDrift(reference.name, value, band(value), shares)


def _report(
    name: str,
    version: int,
    rows: int,
    score: FeatureDrift,
    features: list[FeatureDrift],
    window: tuple[datetime, datetime] | None = None,
) -> DriftReport:
    ordered = tuple(sorted(features, key=lambda f: (-f.psi, f.feature)))
    status = worst([score.band, *(f.band for f in ordered)])
    start, end = window if window is not None else (None, None)
    return DriftReport(name, version, rows, score, ordered, status, start, end)


def drift_report(
    model: credit.CreditModel, frame: pd.DataFrame, *, name: str, version: int
) -> DriftReport:
    """Compare a table of current applicants with the model's training reference.

    The score is the model's (rounded to two decimals, as decisions store it); the
    features are read as the model reads them (its spec); other columns, the target
    among them, are ignored.

    Parameters
    ----------
    model
        The credit model.
    frame
        One row per current applicant, with at least the model's feature columns.
    name, version
        The model version, recorded in the report.

    Raises
    ------
    ValidationError
        For an empty table, a missing feature column or unusable values.
    """
    if frame.empty:
        raise ValidationError("the table of current applicants has no rows", field="current")
    features = model.features(frame)
    scores = np.round(model.scores(features), 2)
    score_ref = model.score_reference()
    total = len(features)
    score = _compare(score_ref, score_ref.counts(score_ref.bin_array(scores)), total)
    drifts = []
    if model.reference is not None:
        for ref in model.reference.features:
            counts = ref.counts(ref.bin_array(features[ref.name].to_numpy()))
            drifts.append(_compare(ref, counts, total))
    return _report(name, version, total, score, drifts)


def stored_drift(
    session: Session,
    model: credit.CreditModel,
    *,
    name: str,
    version: int,
    since: datetime,
    until: datetime,
) -> DriftReport:
    """Compare the decisions ``name:version`` made from ``since`` to before ``until``.

    The score comes from each decision's stored score, the features from its stored
    reference bins (decisions without bins count for the score only).

    Raises
    ------
    NotFound
        When the model version made no decision in the window.
    """
    score_ref = model.score_reference()
    refs = model.reference.features if model.reference is not None else ()
    score_counts = np.zeros(len(score_ref.proportions), dtype=np.int64)
    feature_counts = {ref.name: np.zeros(len(ref.proportions), dtype=np.int64) for ref in refs}
    query = (
        select(CreditDecisionRow.score, CreditDecisionRow.bins)
        .where(
            CreditDecisionRow.model_name == name,
            CreditDecisionRow.model_version == version,
            CreditDecisionRow.created_at >= since,
            CreditDecisionRow.created_at < until,
        )
        .execution_options(yield_per=READ_BATCH)
    )
    rows = 0
    for batch in session.execute(query).partitions():
        scores = np.array([r.score for r in batch], dtype=np.float64)
        rows += len(scores)
        score_counts += score_ref.counts(score_ref.bin_array(scores))
        binned = [r.bins for r in batch if r.bins]
        for ref in refs:
            found = np.array([b.get(ref.name, -1) for b in binned], dtype=np.int64)
            valid = found[(found >= 0) & (found < len(ref.proportions))]
            feature_counts[ref.name] += np.bincount(valid, minlength=len(ref.proportions))
    if rows == 0:
        raise NotFound(
            f"model {name}:{version} made no stored decision between"
            f" {since:%Y-%m-%d %H:%M}Z and {until:%Y-%m-%d %H:%M}Z",
            field="days",
        )
    score = _compare(score_ref, score_counts, rows)
    drifts = [
        _compare(ref, feature_counts[ref.name], int(feature_counts[ref.name].sum()))
        for ref in refs
        if feature_counts[ref.name].sum() > 0
    ]
    return _report(name, version, rows, score, drifts, (since, until))


def record_check(
    session: Session, audit_key: bytes, report: DriftReport, *, source: Source, actor: str
) -> DriftCheck:
    """Store a drift check and audit it (``model.drift_check``) in the caller's transaction."""
    row = DriftCheckRow(
        checked_at=utcnow(),
        model_name=report.model,
        model_version=report.version,
        window_start=report.window_start,
        window_end=report.window_end,
        rows=report.rows,
        score_psi=report.score.psi,
        features={f.feature: f.psi for f in report.features},
        status=report.status,
        source=source,
        actor=actor,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="model.drift_check",
        object_type="model_version",
        object_id=f"{report.model}:{report.version}",
        payload={
            "check": row.id,
            "source": source,
            "rows": report.rows,
            "score_psi": report.score.psi,
            "status": report.status,
        },
    )
    return _check_view(row)


def _check_view(row: DriftCheckRow) -> DriftCheck:
    score_psi = float(row.score_psi or 0.0)  # record_check always writes it
    features = [FeatureDrift(k, float(v), band(float(v))) for k, v in row.features.items()]
    score = FeatureDrift("score", score_psi, band(score_psi))
    report = DriftReport(
        model=row.model_name,
        version=row.model_version,
        rows=row.rows,
        score=score,
        features=tuple(sorted(features, key=lambda f: (-f.psi, f.feature))),
        status=row.status
        if row.status in BANDS
        else worst([score.band, *(f.band for f in features)]),
        window_start=row.window_start,
        window_end=row.window_end,
    )
    return DriftCheck(row.id, row.checked_at, row.source, row.actor, report)


def list_checks(
    session: Session, name: str, *, version: int | None = None, limit: int = 100
) -> list[DriftCheck]:
    """Return the stored drift checks of model ``name`` (one version, or all), newest first."""
    query = select(DriftCheckRow).where(DriftCheckRow.model_name == name)
    if version is not None:
        query = query.where(DriftCheckRow.model_version == version)
    rows = session.scalars(
        query.order_by(DriftCheckRow.checked_at.desc(), DriftCheckRow.id.desc()).limit(limit)
    )
    return [_check_view(row) for row in rows]


def check_model(
    session: Session,
    audit_key: bytes,
    artifact_dir: Path,
    *,
    model_ref: str,
    actor: str,
    current: pd.DataFrame | None = None,
    days: int = DRIFT_DAYS,
    source: Source | None = None,
    now: datetime | None = None,
) -> DriftCheck:
    """Run a drift check of ``NAME[:VERSION]`` and record it; the caller commits.

    Parameters
    ----------
    session, audit_key, artifact_dir
        Where the model and decisions are, and the audit key.
    model_ref
        ``NAME`` (the champion, else the newest version) or ``NAME:VERSION``.
    actor
        Key id of who asked, or ``system``.
    current
        A table of current applicants; without it, the decisions stored in the last
        ``days`` days.
    days
        The window of a stored-decisions check, 1 to :data:`MAX_DRIFT_DAYS`.
    source
        What to record as the source; default ``file`` with ``current``, else ``stored``.
    now
        The window's end (UTC), default now.

    Raises
    ------
    ValidationError
        For a bad reference, a model that is not a credit model, a bad ``days``, or a
        table that lacks the model's features.
    NotFound
        For an unknown model or version, or no stored decision in the window.
    """
    info, model = credit.load_model(session, artifact_dir, model_ref)
    if current is not None:
        report = drift_report(model, current, name=info.name, version=info.version)
    else:
        if isinstance(days, bool) or not 1 <= days <= MAX_DRIFT_DAYS:
            raise ValidationError(
                f"days must be a whole number from 1 to {MAX_DRIFT_DAYS}, got {days!r}",
                field="days",
            )
        until = now or utcnow()
        report = stored_drift(
            session,
            model,
            name=info.name,
            version=info.version,
            since=until - timedelta(days=days),
            until=until,
        )
    chosen: Source = source or ("file" if current is not None else "stored")
    return record_check(session, audit_key, report, source=chosen, actor=actor)


def scheduled_checks(
    sessions: sessionmaker[Session],
    audit_key: bytes,
    artifact_dir: Path,
    *,
    every: timedelta,
    days: int = DRIFT_DAYS,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> list[DriftCheck]:
    """Run one cycle of the schedule: a stored check of each credit champion that is due.

    A champion is due when its newest stored check (of any source) is older than
    ``every``, so several service instances sharing a database run about one check per
    interval between them. Each check commits on its own; a champion that made no
    decision in the window, or whose check fails, is skipped (and logged) without
    stopping the others.

    Parameters
    ----------
    sessions
        The session factory.
    audit_key, artifact_dir
        As for :func:`check_model`.
    every
        How old the newest check may be before another is due.
    days
        The window of each check.
    now
        The time of the cycle (UTC), default now.
    stop
        Checked before each model; when set, the cycle ends early.

    Returns
    -------
    list[DriftCheck]
        The checks recorded in this cycle.
    """
    moment = now or utcnow()
    with sessions() as session:
        champions = session.execute(
            select(ModelVersionRow.name, ModelVersionRow.version).where(
                ModelVersionRow.kind == credit.KIND,
                ModelVersionRow.stage == Stage.CHAMPION.value,
            )
        ).all()
    done = []
    for name, version in champions:
        if stop is not None and stop.is_set():
            break
        with sessions() as session:
            newest = session.scalar(
                select(func.max(DriftCheckRow.checked_at)).where(
                    DriftCheckRow.model_name == name, DriftCheckRow.model_version == version
                )
            )
            if newest is not None and moment - newest < every:
                continue
            try:
                check = check_model(
                    session,
                    audit_key,
                    artifact_dir,
                    model_ref=f"{name}:{version}",
                    actor=audit.SYSTEM_ACTOR,
                    days=days,
                    source="scheduled",
                    now=moment,
                )
            except NotFound as exc:
                logger.info("drift check skipped", extra={"model": name, "reason": str(exc)})
                continue
            except FinAIError:
                logger.exception("drift check failed", extra={"model": name})
                continue
            session.commit()
            done.append(check)
    return done


class DriftSchedule:
    """Runs :func:`scheduled_checks` in a background thread of the service.

    The first cycle runs a little after :meth:`start` (``delay`` plus up to as much
    again at random, so instances started together do not check together), then one
    every ``min(every, 1 hour)``; a check is only made when one is due.
    :meth:`close` stops the thread, waiting for the check in progress, if any.

    Parameters
    ----------
    sessions, audit_key, artifact_dir
        As for :func:`scheduled_checks`.
    every
        How often each champion is checked; zero turns the schedule off.
    days
        The window of each check.
    delay
        Seconds before the first cycle.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        audit_key: bytes,
        artifact_dir: Path,
        *,
        every: timedelta,
        days: int = DRIFT_DAYS,
        delay: float = 60.0,
    ) -> None:
        self.sessions = sessions
        self.audit_key = audit_key
        self.artifact_dir = artifact_dir
        self.every = every
        self.days = days
        self.delay = delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether checks are scheduled at all (``every`` above zero)."""
        return self.every > timedelta(0)

    def run_once(self, now: datetime | None = None) -> list[DriftCheck]:
        """Run one cycle now, in the calling thread (what the background thread repeats)."""
        return scheduled_checks(
            self.sessions,
            self.audit_key,
            self.artifact_dir,
            every=self.every,
            days=self.days,
            now=now,
            stop=self._stop,
        )

    def start(self) -> None:
        """Start the background thread (nothing when disabled or already started)."""
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="finai-drift", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the background thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        pause = min(self.every, timedelta(hours=1)).total_seconds()
        wait = self.delay * (1 + random.random())  # noqa: S311 - spreading start times only
        while not self._stop.wait(wait):
            try:
                self.run_once()
            except Exception:  # a failed cycle must not end the schedule; the next may work
                logger.exception("drift check cycle failed")
            wait = pause
