"""How good a PD model is: discrimination, calibration, stability.

``pd`` values are probabilities of default in [0, 1]; labels are 0/1 with 1 = bad.
Curves are downsampled to at most :data:`MAX_POINTS` points for plotting.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

from finai.exceptions import ValidationError

__all__ = [
    "MAX_POINTS",
    "PSI_FLOOR",
    "CalibrationBin",
    "CreditMetrics",
    "KSCurve",
    "PsiBin",
    "RocCurve",
    "ScoreDistribution",
    "evaluate",
    "ks_curve",
    "psi",
    "psi_table",
    "roc_points",
    "score_distribution",
]

MAX_POINTS = 200
"""Most points a plotting curve keeps."""
PSI_FLOOR = 1e-4
"""Smallest share a PSI bin counts with, so that empty bins give a finite index."""


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of predicted PD: how many rows, what was predicted, what happened.

    Attributes
    ----------
    lower, upper
        Smallest and largest predicted PD in the bin.
    count
        Rows in the bin.
    mean_pd
        Mean predicted PD.
    bad_rate
        Observed share of bad rows.
    """

    lower: float
    upper: float
    count: int
    mean_pd: float
    bad_rate: float


@dataclass(frozen=True)
class CreditMetrics:
    """Discrimination and calibration of PD predictions.

    Attributes
    ----------
    n
        Rows evaluated.
    bad_rate
        Observed share of bad rows.
    auc
        Area under the ROC curve of PD against bad.
    gini
        ``2 * auc - 1``.
    ks
        Kolmogorov-Smirnov statistic: the largest distance between the cumulative PD
        distributions of bad and good rows (``max |TPR - FPR|``).
    brier
        Mean squared error of the PD.
    log_loss
        Mean negative log-likelihood of the PD.
    calibration
        Predicted against observed bad rate by decile of PD (fewer bins under ties).
    score_auc
        AUC of the credit score (higher = safer) when scores were given, else None;
        it equals ``auc`` when the score ranks exactly like the PD.
    """

    n: int
    bad_rate: float
    auc: float
    gini: float
    ks: float
    brier: float
    log_loss: float
    calibration: list[CalibrationBin]
    score_auc: float | None = None

    def to_dict(self) -> dict[str, object]:
        """Return JSON-safe values: floats, ints, None for non-finite, dicts for bins."""
        return {key: _json_safe(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class RocCurve:
    """ROC curve points: ``fpr``, ``tpr`` rise together as the PD cut-off falls.

    ``thresholds`` are PD cut-offs (a row is flagged when its PD is at least the
    cut-off); the first point, (0, 0), has cut-off 1.0 instead of scikit-learn's +inf.
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


@dataclass(frozen=True)
class KSCurve:
    """Cumulative shares of bad and good rows with PD at or above each cut-off.

    Attributes
    ----------
    thresholds
        PD cut-offs, falling.
    population
        Share of all rows at or above the cut-off.
    bad_share, good_share
        Share of the bad (good) rows at or above the cut-off.
    ks
        Largest ``|bad_share - good_share|``.
    ks_threshold
        The cut-off where it is reached.
    """

    thresholds: np.ndarray
    population: np.ndarray
    bad_share: np.ndarray
    good_share: np.ndarray
    ks: float
    ks_threshold: float


@dataclass(frozen=True)
class PsiBin:
    """One bin of a population stability table.

    Attributes
    ----------
    lower, upper
        Bin edges, taken from the reference's quantiles (``-inf``/``inf`` outside);
        a bin holds values in ``(lower, upper]``. Both NaN for the missing-values bin.
    expected, actual
        Share of the reference and of the scored set in the bin.
    contribution
        ``(actual - expected) * ln(actual / expected)``, shares floored at
        :data:`PSI_FLOOR`.
    """

    lower: float
    upper: float
    expected: float
    actual: float
    contribution: float


@dataclass(frozen=True)
class ScoreDistribution:
    """An equal-width histogram of scores, split by outcome when labels are known.

    Attributes
    ----------
    edges
        ``bins + 1`` bin edges.
    counts
        Rows per bin.
    bad_counts, good_counts
        Bad and good rows per bin, or None without labels.
    """

    edges: np.ndarray
    counts: np.ndarray
    bad_counts: np.ndarray | None = None
    good_counts: np.ndarray | None = None


def evaluate(
    y_true: ArrayLike, pd_pred: ArrayLike, scores: ArrayLike | None = None
) -> CreditMetrics:
    """Measure how well predicted PDs separate and match the outcomes.

    Parameters
    ----------
    y_true
        0/1 outcomes, 1 = bad.
    pd_pred
        Predicted PD of each row, in [0, 1].
    scores
        Optional credit scores of the same rows (higher = safer), for ``score_auc``.

    Returns
    -------
    CreditMetrics

    Raises
    ------
    ValidationError
        For labels other than 0/1, a single class, PDs outside [0, 1] or missing,
        or arrays of different lengths.

    Examples
    --------
    >>> m = evaluate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> m.auc, m.gini, m.ks
    (0.75, 0.5, 0.5)
    """
    y = _labels(y_true)
    p = _probabilities(pd_pred, len(y))
    _two_classes(y)
    score_auc = None
    if scores is not None:
        s = _finite(scores, "scores", len(y))
        score_auc = float(roc_auc_score(y, -s))
    auc = float(roc_auc_score(y, p))
    fpr, tpr, _ = roc_curve(y, p, drop_intermediate=False)
    return CreditMetrics(
        n=len(y),
        bad_rate=float(y.mean()),
        auc=auc,
        gini=2.0 * auc - 1.0,
        ks=float(np.max(np.abs(tpr - fpr))),
        brier=float(brier_score_loss(y, p)),
        log_loss=float(log_loss(y, p, labels=[0, 1])),
        calibration=_calibration(y, p),
        score_auc=score_auc,
    )


def roc_points(y: ArrayLike, pd_pred: ArrayLike, max_points: int = MAX_POINTS) -> RocCurve:
    """Return the ROC curve, downsampled to at most ``max_points`` points.

    Raises
    ------
    ValidationError
        As :func:`evaluate`.
    """
    _, fpr, tpr, thresholds = _roc(y, pd_pred)
    keep = _downsample(len(fpr), max_points)
    return RocCurve(fpr=fpr[keep], tpr=tpr[keep], thresholds=thresholds[keep])


def ks_curve(y: ArrayLike, pd_pred: ArrayLike, max_points: int = MAX_POINTS) -> KSCurve:
    """Return the KS curves, downsampled to at most ``max_points`` points with the peak kept.

    Raises
    ------
    ValidationError
        As :func:`evaluate`.
    """
    labels, good_share, bad_share, thresholds = _roc(y, pd_pred)
    n_bad = int(labels.sum())
    population = (bad_share * n_bad + good_share * (len(labels) - n_bad)) / len(labels)
    gap = np.abs(bad_share - good_share)
    peak = int(np.argmax(gap))
    keep = _downsample(len(gap), max_points, must=peak)
    return KSCurve(
        thresholds=thresholds[keep],
        population=population[keep],
        bad_share=bad_share[keep],
        good_share=good_share[keep],
        ks=float(gap[peak]),
        ks_threshold=float(thresholds[peak]),
    )


def _roc(y: ArrayLike, pd_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate and return labels, FPR, TPR and thresholds (capped at 1) of every cut-off."""
    labels = _labels(y)
    p = _probabilities(pd_pred, len(labels))
    _two_classes(labels)
    fpr, tpr, thresholds = roc_curve(labels, p, drop_intermediate=False)
    return labels, fpr, tpr, np.minimum(thresholds, 1.0)


def psi(expected: ArrayLike, actual: ArrayLike, bins: int = 10) -> float:
    """Return the population stability index of ``actual`` against ``expected``.

    Bins are the reference's quantiles (fewer when values tie); a bin for missing
    values is added when either side has any. Shares are floored at :data:`PSI_FLOOR`.
    Rule of thumb: below 0.1 stable, 0.1-0.25 shifting, above 0.25 shifted.

    Parameters
    ----------
    expected
        Reference values, e.g. scores of the training set.
    actual
        Values to compare, e.g. scores of this month's applications.
    bins
        Number of quantile bins of the reference.

    Raises
    ------
    ValidationError
        For an empty side, infinite values or ``bins < 1``.

    Examples
    --------
    >>> psi([1, 2, 3, 4], [1, 2, 3, 4])
    0.0
    """
    return float(sum(row.contribution for row in psi_table(expected, actual, bins)))


def psi_table(expected: ArrayLike, actual: ArrayLike, bins: int = 10) -> list[PsiBin]:
    """Return the per-bin shares and contributions behind :func:`psi`.

    Raises
    ------
    ValidationError
        As :func:`psi`.
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ValidationError(f"bins must be a whole number >= 1, got {bins!r}", field="bins")
    ref = _values(expected, "expected")
    cur = _values(actual, "actual")
    present = ref[~np.isnan(ref)]
    inner = (
        np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
        if len(present)
        else np.array([])
    )
    edges = np.concatenate([[-np.inf], inner, [np.inf]])
    with_missing = bool(np.isnan(ref).any() or np.isnan(cur).any())
    ref_counts = _bin_counts(ref, inner, with_missing)
    cur_counts = _bin_counts(cur, inner, with_missing)
    bounds = [(float(edges[i]), float(edges[i + 1])) for i in range(len(edges) - 1)]
    if with_missing:
        bounds.append((math.nan, math.nan))
    table = []
    for (lower, upper), e_count, a_count in zip(bounds, ref_counts, cur_counts, strict=True):
        e_share, a_share = float(e_count / len(ref)), float(a_count / len(cur))
        e, a = max(e_share, PSI_FLOOR), max(a_share, PSI_FLOOR)
        table.append(PsiBin(lower, upper, e_share, a_share, float((a - e) * math.log(a / e))))
    return table


def score_distribution(
    scores: ArrayLike, y: ArrayLike | None = None, bins: int = 20
) -> ScoreDistribution:
    """Return an equal-width histogram of ``scores``, split by outcome when ``y`` is given.

    Raises
    ------
    ValidationError
        For missing or infinite scores, labels other than 0/1 or of another length,
        or ``bins < 1``.
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ValidationError(f"bins must be a whole number >= 1, got {bins!r}", field="bins")
    values = _finite(scores, "scores", None)
    if len(values) == 0:
        raise ValidationError("scores are empty", field="scores")
    counts, edges = np.histogram(values, bins=bins)
    if y is None:
        return ScoreDistribution(edges=edges, counts=counts)
    labels = _labels(y)
    if len(labels) != len(values):
        raise ValidationError(f"y has {len(labels)} values but scores has {len(values)}", field="y")
    bad, _ = np.histogram(values[labels == 1], bins=edges)
    good, _ = np.histogram(values[labels == 0], bins=edges)
    return ScoreDistribution(edges=edges, counts=counts, bad_counts=bad, good_counts=good)


# -- helpers ------------------------------------------------------------------------------


def _calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[CalibrationBin]:
    inner = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)[1:-1], method="lower"))
    which = np.searchsorted(inner, p, side="left")
    result = []
    for k in range(len(inner) + 1):
        members = which == k
        if not members.any():
            continue
        result.append(
            CalibrationBin(
                lower=float(p[members].min()),
                upper=float(p[members].max()),
                count=int(members.sum()),
                mean_pd=float(p[members].mean()),
                bad_rate=float(y[members].mean()),
            )
        )
    return result


def _bin_counts(values: np.ndarray, inner: np.ndarray, with_missing: bool) -> np.ndarray:
    missing = np.isnan(values)
    counts = np.bincount(
        np.searchsorted(inner, values[~missing], side="left"), minlength=len(inner) + 1
    )
    return np.append(counts, missing.sum()) if with_missing else counts


def _downsample(size: int, max_points: int, must: int | None = None) -> np.ndarray:
    if max_points < 2:
        raise ValidationError("max_points must be at least 2", field="max_points")
    if size <= max_points:
        return np.arange(size)
    budget = max_points - (1 if must is not None else 0)
    keep = np.unique(np.round(np.linspace(0, size - 1, budget)).astype(int))
    if must is not None:
        keep = np.unique(np.append(keep, must))
    return keep


def _array(values: ArrayLike, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be numbers", field=name) from None
    if array.ndim != 1:
        raise ValidationError(f"{name} must be one-dimensional", field=name)
    return array


def _labels(values: ArrayLike) -> np.ndarray:
    array = _array(values, "y")
    if len(array) == 0:
        raise ValidationError("y is empty", field="y")
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValidationError("y must hold only 0 (good) and 1 (bad)", field="y")
    return array.astype(np.int64)


def _two_classes(y: np.ndarray) -> None:
    if y.min() == y.max():
        raise ValidationError(
            f"y has one class only (all {int(y[0])}); need both good and bad rows", field="y"
        )


def _probabilities(values: ArrayLike, n: int) -> np.ndarray:
    array = _finite(values, "pd", n)
    if ((array < 0) | (array > 1)).any():
        raise ValidationError("pd must lie in [0, 1]", field="pd")
    return array


def _finite(values: ArrayLike, name: str, n: int | None) -> np.ndarray:
    array = _array(values, name)
    if n is not None and len(array) != n:
        raise ValidationError(f"{name} has {len(array)} values but y has {n}", field=name)
    if not np.isfinite(array).all():
        raise ValidationError(f"{name} has missing or infinite values", field=name)
    return array


def _values(values: ArrayLike, name: str) -> np.ndarray:
    array = _array(values, name)
    if len(array) == 0:
        raise ValidationError(f"{name} is empty", field=name)
    if np.isinf(array).any():
        raise ValidationError(f"{name} has infinite values", field=name)
    return array


def _json_safe(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    return value
