"""Outcome monitoring: does a credit model still rank and price risk as it did in training.

Decisions of one model version are joined with the reported outcomes of their loans
(:func:`finai.credit.record_outcomes`) and grouped by the UTC month they were decided in,
their *vintage*. Per vintage, and over all of them, the report gives:

* ``decisions`` made, ``outcomes`` reported and their share (``coverage``);
* the realised default rate (defaults over outcomes) and the expected one (the mean PD
  of the decisions with an outcome), their ratio (``calibration``, 1 is perfect) and
  the exact binomial interval the realised rate would fall in by chance if the
  expected rate were right;
* AUC and KS of the PD against the outcomes (:func:`finai.credit.evaluate`), when both
  defaults and non-defaults are present.

Alerts are raised for a vintage with at least ``min_outcomes`` outcomes when:

* its AUC is more than ``auc_tolerance`` below the AUC recorded at training (the
  version's ``auc`` metric: out-of-fold, cross-validated), or its KS more than
  ``ks_tolerance`` below the training ``ks``;
* its realised default count lies outside the central ``confidence`` interval of a
  binomial with ``outcomes`` trials and the expected rate. Loans do not share one PD,
  and the number of defaults of loans with different PDs varies less than a binomial
  at their mean PD, so this interval is, if anything, too wide: it errs on the side of
  fewer false alerts.

Smaller vintages are shown, flagged ``too_small``, and never alert: their AUC, KS and
rates are too noisy to act on. The drift checks stored for the model (PSI of the score
and of each feature, see ``finai governance drift``) are read by :func:`drift_history`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np
from scipy.stats import binom
from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session

from finai import credit, registry
from finai.exceptions import ValidationError
from finai.governance.drift import ACT, WATCH, list_checks
from finai.store import CreditDecisionRow, CreditOutcomeRow

MIN_OUTCOMES = 100
"""Default smallest number of outcomes a vintage needs before it may alert."""

AUC_TOLERANCE = 0.05
"""Default drop of AUC below its training value that raises an alert.

With 100 outcomes at a 10% default rate the standard error of an AUC near 0.75 is
about 0.05 (Hanley and McNeil), so a smaller tolerance would alert on noise."""

KS_TOLERANCE = 0.08
"""Default drop of KS below its training value that raises an alert (KS is noisier than AUC)."""

ALERT_CONFIDENCE = 0.99
"""Default coverage of the binomial interval around the expected default rate.

Each vintage is tested on its own: at 95% one in twenty sound vintages would alert."""

DRIFT_POINTS = 500
"""Most drift checks :func:`drift_history` returns (the newest)."""

OVERALL = "all"
"""The ``vintage`` label of the row over every vintage."""


@dataclass(frozen=True)
class Vintage:
    """Decisions of one month (or of all months) and how their loans turned out.

    Attributes
    ----------
    vintage
        ``YYYY-MM`` (UTC month of decision), or ``"all"``.
    decisions
        Decisions the model version made in the month.
    outcomes
        Of those, decisions with a reported outcome.
    defaults
        Of those, loans that defaulted.
    coverage
        ``outcomes / decisions``.
    default_rate
        Realised default rate, ``defaults / outcomes`` (None without outcomes).
    expected_rate
        Mean PD of the decisions with an outcome (None without outcomes).
    calibration
        ``default_rate / expected_rate``: above 1 the model under-predicts risk
        (None without outcomes or with an expected rate of 0).
    interval
        The range of realised rates consistent with ``expected_rate`` at the report's
        confidence (binomial), or None without outcomes.
    auc, ks
        Of the PD against the outcomes; None unless both classes are present.
    too_small
        Fewer outcomes than the report's ``min_outcomes``: shown, never alerted on.
    """

    vintage: str
    decisions: int
    outcomes: int
    defaults: int
    coverage: float | None
    default_rate: float | None
    expected_rate: float | None
    calibration: float | None
    interval: tuple[float, float] | None
    auc: float | None
    ks: float | None
    too_small: bool


@dataclass(frozen=True)
class MonitoringAlert:
    """A vintage whose outcomes say the model no longer performs as trained.

    Attributes
    ----------
    vintage
        ``YYYY-MM`` or ``"all"``.
    metric
        ``auc``, ``ks`` or ``default_rate``.
    value
        The vintage's value.
    reference
        What it is compared with: the training value, or the expected default rate.
    bound
        The value crossed: training value less the tolerance, or the interval's edge.
    message
        The alert in words.
    """

    vintage: str
    metric: str
    value: float
    reference: float
    bound: float
    message: str


@dataclass(frozen=True)
class TrainingBaseline:
    """What the model version's training recorded (out-of-fold); None where not recorded."""

    auc: float | None
    ks: float | None
    bad_rate: float | None


@dataclass(frozen=True)
class VintageReport:
    """Realised performance of a credit model version by vintage, with alerts.

    Attributes
    ----------
    model, version, stage
        The model version reported on.
    training
        Its training AUC, KS and bad rate.
    min_outcomes, auc_tolerance, ks_tolerance, confidence
        The alert rules' settings.
    vintages
        One row per month with decisions, oldest first.
    overall
        The same over every vintage.
    alerts
        Oldest vintage first, the overall row last.
    """

    model: str
    version: int
    stage: str
    training: TrainingBaseline
    min_outcomes: int
    auc_tolerance: float
    ks_tolerance: float
    confidence: float
    vintages: list[Vintage]
    overall: Vintage
    alerts: list[MonitoringAlert]

    @property
    def ref(self) -> str:
        """``NAME:VERSION`` of the model version."""
        return f"{self.model}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-safe values (intervals as two-item lists)."""
        return {
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "training": asdict(self.training),
            "settings": {
                "min_outcomes": self.min_outcomes,
                "auc_tolerance": self.auc_tolerance,
                "ks_tolerance": self.ks_tolerance,
                "confidence": self.confidence,
            },
            "vintages": [_vintage_dict(v) for v in self.vintages],
            "overall": _vintage_dict(self.overall),
            "alerts": [asdict(a) for a in self.alerts],
        }


@dataclass(frozen=True)
class DriftPoint:
    """One stored drift check of a model.

    Attributes
    ----------
    checked_at
        When it ran (UTC).
    model_version
        The version checked.
    rows
        Decisions in its window.
    score_psi
        PSI of the score against the training reference (None if not computed).
    features
        PSI of each feature (CSI), by feature; values that are not finite numbers are left out.
    status
        The check's verdict as stored.
    """

    checked_at: datetime
    model_version: int
    rows: int
    score_psi: float | None
    features: dict[str, float]
    status: str

    @property
    def worst_feature(self) -> tuple[str, float] | None:
        """The feature with the highest PSI and its PSI, or None without features."""
        return max(self.features.items(), key=lambda item: item[1]) if self.features else None


def vintage_report(
    session: Session,
    name: str,
    version: int | None = None,
    *,
    min_outcomes: int = MIN_OUTCOMES,
    auc_tolerance: float = AUC_TOLERANCE,
    ks_tolerance: float = KS_TOLERANCE,
    confidence: float = ALERT_CONFIDENCE,
) -> VintageReport:
    """Compare a credit model version's decisions with their loans' outcomes, by vintage.

    Parameters
    ----------
    session
        A session to read decisions, outcomes and the registry with.
    name, version
        The model; without a version its champion, else its newest version. Only that
        version's decisions are counted.
    min_outcomes
        Vintages with fewer outcomes are reported as too small and never alert.
    auc_tolerance, ks_tolerance
        How far below its training value a vintage's AUC (KS) may fall before it alerts.
    confidence
        Coverage of the binomial interval of the default rate, in (0.5, 1).

    Returns
    -------
    VintageReport

    Raises
    ------
    NotFound
        For an unknown model or version.
    ValidationError
        For a model that is not a credit model, or settings out of range.

    Examples
    --------
    >>> report = vintage_report(session, "pd-german")
    >>> [(v.vintage, v.default_rate, v.expected_rate) for v in report.vintages]
    [('2026-01', 0.31, 0.29), ('2026-02', 0.28, 0.30)]
    """
    _check_settings(min_outcomes, auc_tolerance, ks_tolerance, confidence)
    info = registry.get_version(session, name, version)
    if info.kind != credit.KIND:
        raise ValidationError(f"model {info.name!r} is not a credit model", field="model")
    training = TrainingBaseline(
        auc=_finite(info.metrics.get("auc")),
        ks=_finite(info.metrics.get("ks")),
        bad_rate=_finite(info.metrics.get("bad_rate")),
    )
    decisions, outcomes = _load(session, info.name, info.version)
    rules = _Rules(training, min_outcomes, auc_tolerance, ks_tolerance, confidence)
    vintages = [
        _vintage(month, count, *outcomes.get(month, ([], [])), rules)
        for month, count in sorted(decisions.items())
    ]
    pds = [pd for month in sorted(outcomes) for pd in outcomes[month][0]]
    bad = [y for month in sorted(outcomes) for y in outcomes[month][1]]
    overall = _vintage(OVERALL, sum(decisions.values()), pds, bad, rules)
    alerts = [alert for v in [*vintages, overall] for alert in _alerts(v, rules)]
    return VintageReport(
        model=info.name,
        version=info.version,
        stage=info.stage.value,
        training=training,
        min_outcomes=min_outcomes,
        auc_tolerance=auc_tolerance,
        ks_tolerance=ks_tolerance,
        confidence=confidence,
        vintages=vintages,
        overall=overall,
        alerts=alerts,
    )


@dataclass(frozen=True)
class DriftHistory:
    """Stored drift checks of a model, oldest first, and the PSI bands they are read by.

    Attributes
    ----------
    points
        The checks, oldest first.
    watch, act
        PSI from which a distribution is to be watched, and above which to act.
    """

    points: list[DriftPoint]
    watch: float = WATCH
    act: float = ACT


def drift_history(
    session: Session, name: str, *, version: int | None = None, limit: int = DRIFT_POINTS
) -> DriftHistory:
    """Return the newest stored drift checks of a model, oldest first.

    Parameters
    ----------
    name
        The model's name.
    version
        Only this version's checks; None for every version's.
    limit
        Most checks returned (the newest), at least 1.
    """
    if limit < 1:
        raise ValidationError("limit must be at least 1", field="limit")
    points = [
        DriftPoint(
            checked_at=check.checked_at,
            model_version=check.report.version,
            rows=check.report.rows,
            score_psi=_finite(check.report.score.psi),
            features={
                f.feature: psi for f in check.report.features if (psi := _finite(f.psi)) is not None
            },
            status=check.report.status,
        )
        for check in list_checks(session, name, version=version, limit=limit)
    ]
    return DriftHistory(points[::-1])


# -- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    training: TrainingBaseline
    min_outcomes: int
    auc_tolerance: float
    ks_tolerance: float
    confidence: float


def _check_settings(
    min_outcomes: int, auc_tolerance: float, ks_tolerance: float, confidence: float
) -> None:
    if isinstance(min_outcomes, bool) or not isinstance(min_outcomes, int) or min_outcomes < 1:
        raise ValidationError("min_outcomes must be a whole number >= 1", field="min_outcomes")
    for field, value in (("auc_tolerance", auc_tolerance), ("ks_tolerance", ks_tolerance)):
        if not 0 <= value <= 1:
            raise ValidationError(f"{field} must lie in [0, 1]", field=field)
    if not 0.5 < confidence < 1:
        raise ValidationError("confidence must lie between 0.5 and 1", field="confidence")


def _month(session: Session) -> ColumnElement[str]:
    """Return the UTC month of a decision as ``YYYY-MM``, in the database's own dialect.

    The constants are inlined, so that PostgreSQL sees the grouped and the selected
    expression as one.
    """
    column = CreditDecisionRow.created_at
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(
            func.timezone(literal_column("'UTC'"), column), literal_column("'YYYY-MM'")
        )
    return func.strftime(literal_column("'%Y-%m'"), column)  # SQLite keeps UTC times as text


def _load(
    session: Session, name: str, version: int
) -> tuple[dict[str, int], dict[str, tuple[list[float], list[int]]]]:
    """Decisions per month, and per month the PD and outcome (1 = default) of each loan."""
    month = _month(session).label("vintage")
    mine = (CreditDecisionRow.model_name == name, CreditDecisionRow.model_version == version)
    counted = session.execute(
        select(month, func.count()).where(*mine).group_by(month).order_by(month)
    )
    decisions = {str(vintage): int(count) for vintage, count in counted}
    rows = session.execute(
        select(month, CreditDecisionRow.pd, CreditOutcomeRow.defaulted)
        .join(CreditOutcomeRow, CreditOutcomeRow.decision_id == CreditDecisionRow.id)
        .where(*mine)
    )
    outcomes: dict[str, tuple[list[float], list[int]]] = defaultdict(lambda: ([], []))
    for vintage, pd, defaulted in rows:
        pds, bad = outcomes[str(vintage)]
        pds.append(float(pd))
        bad.append(int(defaulted))
    return decisions, dict(outcomes)


def _vintage(
    label: str, decisions: int, pds: list[float], bad: list[int], rules: _Rules
) -> Vintage:
    n = len(bad)
    defaults = int(sum(bad))
    rate = defaults / n if n else None
    expected = float(np.mean(pds)) if n else None
    interval = None
    if n and expected is not None:
        low, high = _bounds(n, expected, rules.confidence)
        interval = (low / n, high / n)
    auc = ks = None
    if 0 < defaults < n:
        metrics = credit.evaluate(bad, pds)
        auc, ks = metrics.auc, metrics.ks
    return Vintage(
        vintage=label,
        decisions=decisions,
        outcomes=n,
        defaults=defaults,
        coverage=n / decisions if decisions else None,
        default_rate=rate,
        expected_rate=expected,
        calibration=rate / expected if rate is not None and expected else None,
        interval=interval,
        auc=auc,
        ks=ks,
        too_small=n < rules.min_outcomes,
    )


def _bounds(n: int, p: float, confidence: float) -> tuple[int, int]:
    """Fewest and most defaults of ``n`` loans at rate ``p`` not in the tails (each ``(1-c)/2``)."""
    tail = (1 - confidence) / 2
    p = min(max(p, 0.0), 1.0)
    return int(binom.ppf(tail, n, p)), int(binom.ppf(1 - tail, n, p))


def _alerts(v: Vintage, rules: _Rules) -> list[MonitoringAlert]:
    if v.too_small:
        return []
    found = []
    where = "over all vintages" if v.vintage == OVERALL else f"in vintage {v.vintage}"
    for metric, value, trained, tolerance in (
        ("auc", v.auc, rules.training.auc, rules.auc_tolerance),
        ("ks", v.ks, rules.training.ks, rules.ks_tolerance),
    ):
        if value is not None and trained is not None and value < trained - tolerance:
            found.append(
                MonitoringAlert(
                    vintage=v.vintage,
                    metric=metric,
                    value=value,
                    reference=trained,
                    bound=trained - tolerance,
                    message=f"{metric.upper()} {value:.3f} {where} is more than"
                    f" {tolerance:g} below its training value {trained:.3f}",
                )
            )
    if v.interval is not None and v.default_rate is not None and v.expected_rate is not None:
        low, high = v.interval
        if not low <= v.default_rate <= high:
            side, bound = ("above", high) if v.default_rate > high else ("below", low)
            found.append(
                MonitoringAlert(
                    vintage=v.vintage,
                    metric="default_rate",
                    value=v.default_rate,
                    reference=v.expected_rate,
                    bound=bound,
                    message=f"default rate {v.default_rate:.1%} {where} ({v.defaults} of"
                    f" {v.outcomes}) is {side} the {rules.confidence:.0%} interval"
                    f" {low:.1%}-{high:.1%} around the expected {v.expected_rate:.1%}",
                )
            )
    return found


def _vintage_dict(v: Vintage) -> dict[str, Any]:
    values = asdict(v)
    values["interval"] = list(v.interval) if v.interval is not None else None
    return values


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
