"""Alert thresholds on the fraud score: allow, review or block.

Two scores cut the score range (scores are in [0, 1], higher = more suspect):

* ``score >= block``: **block** the transaction (and open a case);
* ``review <= score < block``: let it through and send it to an analyst for **review**;
* ``score < review``: **allow**.

Every review or block is an *alert* and costs an analyst's time
(:attr:`Thresholds.review_cost`, currency units per alert). Thresholds are chosen on
the validation part of the train window, in one of two ways:

``budget`` (:func:`by_alert_budget`)
    At most ``alerts_per_day`` alerts a day on average over the validation days:
    ``review`` is the lowest score that keeps the alerts within that budget. Works
    without labels.
``cost`` (:func:`by_cost`)
    ``review`` maximises the money saved minus the review cost on the validation
    part: an alerted fraud saves its amount, every alert costs ``review_cost``. Needs
    labels.

Either way ``block`` is the score of the top ``block_share`` of the alerts (10 % by
default): the most suspect alerts are stopped outright, the rest reviewed. Ties at a
cut-off fall on the lenient side, so a budget is never exceeded on the validation part.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

from finai.exceptions import ValidationError

__all__ = [
    "BLOCK_SHARE",
    "REVIEW_COST",
    "Action",
    "ThresholdMethod",
    "Thresholds",
    "by_alert_budget",
    "by_cost",
]

ThresholdMethod = Literal["budget", "cost"]
BLOCK_SHARE = 0.1
"""Share of the alerts, the most suspect, that are blocked rather than reviewed."""
REVIEW_COST = 5.0
"""Default cost of reviewing one alert, in currency units."""


class Action(StrEnum):
    """What happens to a scored transaction."""

    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


_ACTIONS = np.array([Action.ALLOW, Action.REVIEW, Action.BLOCK], dtype=object)


@dataclass(frozen=True)
class Thresholds:
    """The review and block cut-offs of a fraud score and how they were chosen.

    Attributes
    ----------
    review
        Scores at or above it are alerted (review, or block above ``block``).
    block
        Scores at or above it are blocked; ``block >= review``.
    method
        ``"budget"`` or ``"cost"``.
    alerts_per_day
        The alert budget (``method="budget"``), else None.
    review_cost
        Cost of one alert, currency units.
    block_share
        Share of the alerts that are blocked.

    Raises
    ------
    ValidationError
        For cut-offs outside [0, 1] (a cut-off just above 1 alerts nothing and is
        allowed) or ``block < review``.
    """

    review: float
    block: float
    method: ThresholdMethod
    review_cost: float = REVIEW_COST
    block_share: float = BLOCK_SHARE
    alerts_per_day: float | None = None

    def __post_init__(self) -> None:
        for name in ("review", "block"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= np.nextafter(1.0, 2.0)):
                raise ValidationError(f"{name} threshold must lie in [0, 1]", field=name)
        if self.block < self.review:
            raise ValidationError("block threshold must not be below review", field="block")

    def decide(self, scores: ArrayLike) -> list[Action]:
        """Return the action for each score."""
        values = np.asarray(scores, dtype=np.float64)
        codes = (values >= self.review).astype(np.int64) + (values >= self.block)
        actions: list[Action] = _ACTIONS[codes].tolist()
        return actions

    def alerted(self, scores: ArrayLike) -> npt.NDArray[np.bool_]:
        """Which scores raise an alert (review or block)."""
        return np.asarray(scores, dtype=np.float64) >= self.review

    def to_dict(self) -> dict[str, object]:
        """Return the fields as JSON-safe values."""
        return asdict(self)


def _scores(values: ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) == 0:
        raise ValidationError("scores must be a non-empty list of numbers", field="scores")
    if not np.isfinite(array).all() or (array < 0).any() or (array > 1).any():
        raise ValidationError("scores must lie in [0, 1]", field="scores")
    return array


def _share(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(f"block_share must lie in [0, 1], got {value!r}", field="block_share")
    return float(value)


def _cost(value: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value >= 0)
    ):
        raise ValidationError(
            f"review_cost must be a number >= 0, got {value!r}", field="review_cost"
        )
    return float(value)


def _top(descending: npt.NDArray[np.float64], count: int) -> float:
    """Lowest cut-off that lets at most ``count`` of the scores through (ties excluded)."""
    if count >= len(descending):
        return float(descending[-1])
    return float(np.nextafter(descending[count], 2.0))


def _with_block(descending: npt.NDArray[np.float64], review: float, block_share: float) -> float:
    alerts = int(np.count_nonzero(descending >= review))
    return max(review, _top(descending, math.floor(block_share * alerts)))


def by_alert_budget(
    scores: ArrayLike,
    *,
    days: int,
    alerts_per_day: float,
    review_cost: float = REVIEW_COST,
    block_share: float = BLOCK_SHARE,
) -> Thresholds:
    """Choose thresholds that raise at most ``alerts_per_day`` alerts a day on average.

    Parameters
    ----------
    scores
        Validation scores in [0, 1].
    days
        Days the scores cover (>= 1).
    alerts_per_day
        Alerts the team can handle a day (> 0).
    review_cost
        Cost of one alert, currency units (recorded for the money metrics).
    block_share
        Share of the alerts that are blocked.

    Raises
    ------
    ValidationError
        For scores outside [0, 1] or an argument out of range.

    Examples
    --------
    >>> t = by_alert_budget([0.9, 0.8, 0.1, 0.05], days=2, alerts_per_day=1, block_share=0.5)
    >>> t.review > 0.1, t.block > 0.8
    (True, True)
    """
    values = _scores(scores)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValidationError(f"days must be a whole number >= 1, got {days!r}", field="days")
    if (
        isinstance(alerts_per_day, bool)
        or not isinstance(alerts_per_day, int | float)
        or not (math.isfinite(alerts_per_day) and alerts_per_day > 0)
    ):
        raise ValidationError(
            f"alerts_per_day must be a number > 0, got {alerts_per_day!r}", field="alerts_per_day"
        )
    share = _share(block_share)
    descending = np.sort(values)[::-1]
    review = _top(descending, math.floor(alerts_per_day * days))
    return Thresholds(
        review=review,
        block=_with_block(descending, review, share),
        method="budget",
        review_cost=_cost(review_cost),
        block_share=share,
        alerts_per_day=float(alerts_per_day),
    )


def by_cost(
    scores: ArrayLike,
    labels: ArrayLike,
    amounts: ArrayLike,
    *,
    review_cost: float = REVIEW_COST,
    block_share: float = BLOCK_SHARE,
) -> Thresholds:
    """Choose the review threshold that saves the most money net of review costs.

    Net savings at a cut-off ``t``: the amounts of the fraud transactions scored at or
    above ``t``, minus ``review_cost`` times the number of transactions scored at or
    above ``t``. When no cut-off saves more than it costs, nothing is alerted.

    Parameters
    ----------
    scores
        Validation scores in [0, 1].
    labels
        0/1 (1 = fraud) of the same transactions.
    amounts
        Their amounts (>= 0), currency units.
    review_cost
        Cost of one alert, currency units.
    block_share
        Share of the alerts that are blocked.

    Raises
    ------
    ValidationError
        For inputs of different lengths, labels other than 0/1, negative amounts or
        an argument out of range.

    Examples
    --------
    >>> t = by_cost([0.9, 0.5, 0.1], [1, 0, 0], [100.0, 20.0, 30.0], review_cost=5)
    >>> 0.5 < t.review <= 0.9
    True
    """
    values = _scores(scores)
    y = np.asarray(labels, dtype=np.float64)
    money = np.asarray(amounts, dtype=np.float64)
    if y.shape != values.shape or money.shape != values.shape:
        raise ValidationError(
            "scores, labels and amounts must have the same length", field="labels"
        )
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValidationError("labels must be 0 or 1", field="labels")
    if not np.isfinite(money).all() or (money < 0).any():
        raise ValidationError("amounts must be finite numbers >= 0", field="amounts")
    cost = _cost(review_cost)
    share = _share(block_share)
    order = np.argsort(-values, kind="stable")
    descending = values[order]
    net = np.cumsum(y[order] * money[order]) - cost * np.arange(1, len(values) + 1)
    # Only a cut between distinct scores is a threshold: the last row of each tie group.
    last_of_tie = np.append(descending[1:] != descending[:-1], True)
    candidates = np.flatnonzero(last_of_tie)
    best = int(candidates[np.argmax(net[candidates])])
    review = float(descending[best]) if net[best] > 0 else float(np.nextafter(descending[0], 2.0))
    return Thresholds(
        review=review,
        block=_with_block(descending, review, share),
        method="cost",
        review_cost=cost,
        block_share=share,
    )
