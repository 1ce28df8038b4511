"""The stratified bootstrap behind the fairness report's intervals.

A resample redraws one group's rows with replacement, keeping the group's size. Rows
alike in score level, label and approval form a cell, and a redraw is a multinomial
draw of cell counts: the same distribution as drawing rows one by one and counting
them per cell, at a cost that grows with the cells rather than the rows. Every metric
of a resample is then a weighted sum over the cells, computed for a block of
resamples at once.

Scores are ranked exactly up to :data:`_LEVELS` distinct values in a group; beyond,
they are binned in order into that many bins of about equally many rows, and scores in
one bin tie in the AUC (a change of the order of ``0.5 / _LEVELS``). The point
estimates of the report do not come from here but from fairlearn.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "auc", "bad_rate")
"""The per-group metrics, in report order (``count`` comes with every group)."""

_CELLS = 2_000_000
"""Resamples are drawn in blocks of at most this many cells (bounded memory)."""

_LEVELS = 1_000
"""Beyond this many distinct scores in a group, resamples rank scores in this many bins."""

Interval = tuple[float, float]
FloatArray = npt.NDArray[np.float64]


def resample(
    good: npt.NDArray[np.int64],
    approved: npt.NDArray[np.int64],
    score: FloatArray,
    resamples: int,
    rng: np.random.Generator,
) -> dict[str, FloatArray]:
    """Return each metric of a group in ``resamples`` redraws of its rows, with replacement.

    Rows alike in score level, label and approval form a cell; a redraw of the rows
    is a multinomial draw of cell counts (the same distribution as drawing rows and
    counting them per cell), so its cost grows with the cells, not the rows. Blocks of
    redraws hold at most :data:`_CELLS` cells.

    Parameters
    ----------
    good, approved
        0/1 per row of the group.
    score
        Per row, higher for better payers.
    resamples
        How many redraws.
    rng
        The seeded generator to draw from.

    Returns
    -------
    dict
        :data:`METRICS` by name, one value per redraw (NaN where undefined).
    """
    n = len(good)
    key = (score_levels(score) * 2 + good) * 2 + approved
    cells, counts = np.unique(key, return_counts=True)
    probabilities = counts / n
    cell_approved, cell_good = cells % 2, (cells // 2) % 2
    cell_level = (cells // 4).astype(np.float64)
    block = max(1, min(resamples, _CELLS // len(cells)))
    parts: list[dict[str, FloatArray]] = []
    for start in range(0, resamples, block):
        b = min(block, resamples - start)
        weights = rng.multinomial(n, probabilities, size=b).astype(np.float64)
        parts.append(weighted_metrics(weights, cell_approved, cell_good, cell_level))
    return {m: np.concatenate([p[m] for p in parts]) for m in METRICS}


def score_levels(score: FloatArray) -> npt.NDArray[np.int64]:
    """Return each score's rank among the distinct scores, or its bin of about n/_LEVELS rows.

    Exact ranks up to :data:`_LEVELS` distinct scores; beyond, scores are binned in
    order so that each bin holds about as many rows, and scores in one bin tie.
    """
    values, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ranks = inverse.astype(np.int64)
    if len(values) <= _LEVELS:
        return ranks
    before = np.cumsum(counts) - counts
    return np.asarray((before * _LEVELS) // len(score), dtype=np.int64)[ranks]


def weighted_metrics(
    weights: FloatArray,
    approved: npt.NDArray[np.int64],
    good: npt.NDArray[np.int64],
    score: FloatArray,
) -> dict[str, FloatArray]:
    """Return each metric of one group under each row of ``weights`` (NaN where undefined).

    Parameters
    ----------
    weights
        Resamples by rows: a resample's weight of each row (how often it was drawn).
    approved, good
        0/1 per row.
    score
        Per row, higher for better payers, sorted in increasing order.

    Returns
    -------
    dict
        :data:`METRICS` by name, one value per resample: the metrics of the rows
        weighted by that resample, as fairlearn's rates and scikit-learn's
        ``roc_auc_score`` give them with ``sample_weight`` (ties count one half).
    """
    a = approved.astype(np.float64)
    g = good.astype(np.float64)
    total = weights.sum(axis=1)
    n_good = weights @ g
    n_bad = total - n_good
    approved_good = weights @ (a * g)
    approved_bad = weights @ (a * (1.0 - g))
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = np.where(n_good > 0, approved_good / n_good, np.nan)
        fpr = np.where(n_bad > 0, approved_bad / n_bad, np.nan)
    starts = np.flatnonzero(np.r_[True, score[1:] != score[:-1]])
    pos = np.add.reduceat(weights * g, starts, axis=1)
    neg = np.add.reduceat(weights * (1.0 - g), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    pairs = (pos * (below + 0.5 * neg)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = np.where((n_good > 0) & (n_bad > 0), pairs / (n_good * n_bad), np.nan)
        selection = np.where(total > 0, (weights @ a) / total, np.nan)
        bad_rate = np.where(total > 0, n_bad / total, np.nan)
    return {
        "selection_rate": selection,
        "true_positive_rate": tpr,
        "false_positive_rate": fpr,
        "auc": auc,
        "bad_rate": bad_rate,
    }


def percentile_interval(values: FloatArray, confidence: float) -> Interval | None:
    """Return the central ``confidence`` percentile interval of the finite ``values``, if any."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)
