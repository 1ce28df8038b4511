"""How good a fraud model is, on a period after the one it learned from.

Metrics, after the Fraud Detection Handbook (Le Borgne et al., ch. 4):

``roc_auc``, ``average_precision``
    Threshold-free, per transaction. Average precision suits the imbalance (about 1
    fraud in 100): a random ranking scores the fraud rate, not 0.5.
``card_precision_top_k`` (:func:`card_precision_top_k`)
    What a team of analysts who check ``k`` cards a day would find. For each day
    (UTC) in turn: every card takes the highest score of its transactions that day;
    the ``k`` cards with the highest such scores are checked (ties: the smaller card
    id first); a card is compromised when it has a fraud that day. The day's
    precision is the number of compromised cards found divided by ``k`` (a day with
    fewer than ``k`` cards cannot reach 1). As in the Handbook, a card found
    compromised is taken out of the following days (``remove_detected``): it is
    blocked, and finding it again is no news. The metric is the mean over the days
    that have transactions.
alert and money metrics (with :class:`~finai.fraud.thresholds.Thresholds`)
    ``alert_rate`` (share of transactions reviewed or blocked), ``alerts_per_day``,
    ``block_rate``, ``fraud_caught_rate`` (share of frauds alerted), ``money_saved``
    (amounts of the alerted frauds), ``review_cost`` (alerts times the cost of one)
    and ``net_savings`` (saved minus cost). Money is in the transactions' currency.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, roc_auc_score

from finai.exceptions import ValidationError
from finai.fraud.artifact import FraudModel
from finai.fraud.thresholds import Thresholds
from finai.fraud.transactions import AMOUNT, CARD, TIME
from finai.fraud.windows import Window, check_transactions, history_before, labels_of

__all__ = ["TOP_K", "FraudMetrics", "card_precision_top_k", "evaluate", "evaluate_model"]

TOP_K = 100
"""Cards an analyst team checks a day, the ``k`` of card precision by default."""

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class FraudMetrics:
    """A fraud model's results on one period.

    Attributes
    ----------
    n
        Transactions scored.
    days
        Days of the period.
    k
        Cards checked a day for ``card_precision_top_k``.
    n_fraud, fraud_rate
        Fraud transactions and their share; None without labels.
    roc_auc, average_precision
        None without labels or when the period has one class only.
    card_precision_top_k
        Mean daily card precision of the top ``k`` cards; None without labels.
    alert_rate, alerts_per_day, block_rate
        Share of transactions alerted (reviewed or blocked), alerts per day, share
        blocked; None without thresholds.
    fraud_caught_rate, money_saved, review_cost, net_savings
        Share of frauds alerted, their amounts, the cost of all alerts, and saved
        minus cost; None without thresholds or labels.
    """

    n: int
    days: int
    k: int
    n_fraud: int | None = None
    fraud_rate: float | None = None
    roc_auc: float | None = None
    average_precision: float | None = None
    card_precision_top_k: float | None = None
    alert_rate: float | None = None
    alerts_per_day: float | None = None
    block_rate: float | None = None
    fraud_caught_rate: float | None = None
    money_saved: float | None = None
    review_cost: float | None = None
    net_savings: float | None = None

    def to_dict(self) -> dict[str, float | int | None]:
        """Return the metrics by name; card precision is ``card_precision_at_{k}``.

        Non-finite floats become None.
        """
        values: dict[str, float | int | None] = {}
        for key, value in asdict(self).items():
            if key == "card_precision_top_k":
                key = f"card_precision_at_{self.k}"
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            values[key] = value
        return values


def _days(timestamps: pd.Series) -> npt.NDArray[np.int64]:
    """Whole UTC days since the epoch of timezone-aware timestamps."""
    if not isinstance(timestamps.dtype, pd.DatetimeTZDtype):
        raise ValidationError("timestamps must be timezone-aware date-times", field=TIME)
    micro = timestamps.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    return np.asarray(micro.to_numpy().view(np.int64) // 86_400_000_000, dtype=np.int64)


def _labels(values: ArrayLike, n: int) -> npt.NDArray[np.int8]:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValidationError(f"labels have {array.size} values but scores {n}", field="labels")
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValidationError("labels must be 0 or 1", field="labels")
    return array.astype(np.int8)


def _scores(values: ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) == 0:
        raise ValidationError("scores must be a non-empty list of numbers", field="scores")
    if not np.isfinite(array).all():
        raise ValidationError("scores have missing or infinite values", field="scores")
    return array


def _top_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValidationError(f"k must be a whole number >= 1, got {k!r}", field="k")
    return int(k)


def card_precision_top_k(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    cards: ArrayLike,
    timestamps: pd.Series,
    k: int = TOP_K,
    remove_detected: bool = True,
) -> float:
    """Return the mean daily card precision of the ``k`` most suspect cards.

    See the module docstring for the definition (Handbook, ch. 4.3).

    Parameters
    ----------
    scores
        Fraud score of each transaction.
    labels
        0/1 (1 = fraud) of each transaction.
    cards
        Card (customer) of each transaction.
    timestamps
        Time of each transaction, timezone-aware; days are UTC days.
    k
        Cards checked a day.
    remove_detected
        Leave cards found compromised out of the following days.

    Raises
    ------
    ValidationError
        For inputs of different lengths, labels other than 0/1, non-finite scores
        or ``k < 1``.

    Examples
    --------
    >>> times = pd.Series(pd.to_datetime(["2026-04-01 10:00"] * 3, utc=True))
    >>> card_precision_top_k([0.9, 0.8, 0.1], [1, 0, 0], cards=["a", "b", "c"],
    ...                      timestamps=times, k=2)
    0.5
    """
    values = _scores(scores)
    y = _labels(labels, len(values))
    ids = np.asarray(cards, dtype=object)
    if ids.shape != values.shape or len(timestamps) != len(values):
        raise ValidationError("cards and timestamps must have one value per score", field=CARD)
    top = _top_k(k)
    frame = pd.DataFrame(
        {"day": _days(pd.Series(timestamps)), "card": ids.astype(str), "score": values, "y": y}
    )
    per_card = frame.groupby(["day", "card"], sort=True).agg(score=("score", "max"), y=("y", "max"))
    per_card = per_card.reset_index().sort_values(
        ["day", "score", "card"], ascending=[True, False, True], kind="stable"
    )
    detected: set[str] = set()
    precisions = []
    for _day, group in per_card.groupby("day", sort=True):
        if remove_detected and detected:
            group = group.loc[~group["card"].isin(detected)]
        chosen = group.head(top)
        found = chosen.loc[chosen["y"] == 1, "card"].tolist()
        precisions.append(len(found) / top)
        if remove_detected:
            detected.update(found)
    return float(np.mean(precisions))


def evaluate(
    scores: ArrayLike,
    labels: ArrayLike | None,
    *,
    timestamps: pd.Series,
    cards: ArrayLike,
    amounts: ArrayLike,
    thresholds: Thresholds | None = None,
    days: int | None = None,
    k: int = TOP_K,
) -> FraudMetrics:
    """Measure fraud scores of one period.

    Parameters
    ----------
    scores
        Fraud score of each transaction, in [0, 1].
    labels
        0/1 (1 = fraud) of each transaction, or None when unknown.
    timestamps, cards, amounts
        Time (timezone-aware), card and amount of each transaction.
    thresholds
        The alert thresholds, for the alert and money metrics.
    days
        Days of the period (default: the UTC days from the first to the last
        transaction), the divisor of ``alerts_per_day``.
    k
        Cards checked a day for card precision.

    Raises
    ------
    ValidationError
        For inputs of different lengths or out of range.
    """
    values = _scores(scores)
    n = len(values)
    top = _top_k(k)
    stamps = pd.Series(timestamps)
    day_numbers = _days(stamps)
    money = np.asarray(amounts, dtype=np.float64)
    if len(stamps) != n or money.shape != (n,):
        raise ValidationError("timestamps and amounts need one value per score", field="amounts")
    if days is None:
        days = int(day_numbers.max() - day_numbers.min()) + 1
    result = FraudMetrics(n=n, days=days, k=top)
    y = None if labels is None else _labels(labels, n)
    if y is not None:
        n_fraud = int(y.sum())
        result = replace(
            result,
            n_fraud=n_fraud,
            fraud_rate=n_fraud / n,
            card_precision_top_k=card_precision_top_k(
                values, y, cards=cards, timestamps=stamps, k=top
            ),
        )
        if 0 < n_fraud < n:
            result = replace(
                result,
                roc_auc=float(roc_auc_score(y, values)),
                average_precision=float(average_precision_score(y, values)),
            )
    if thresholds is not None:
        alerted = thresholds.alerted(values)
        alerts = int(alerted.sum())
        result = replace(
            result,
            alert_rate=alerts / n,
            alerts_per_day=alerts / days,
            block_rate=float(np.mean(values >= thresholds.block)),
        )
        if y is not None:
            saved = float(money[alerted & (y == 1)].sum())
            cost = alerts * thresholds.review_cost
            result = replace(
                result,
                fraud_caught_rate=float(alerted[y == 1].mean()) if y.any() else None,
                money_saved=saved,
                review_cost=cost,
                net_savings=saved - cost,
            )
    return result


def evaluate_model(
    model: FraudModel,
    transactions: pd.DataFrame,
    *,
    start: object,
    end: object,
    k: int = TOP_K,
    progress: Progress | None = None,
) -> FraudMetrics:
    """Measure a fraud model on the transactions from ``start`` to ``end`` (UTC days).

    The transactions before ``start`` are used for features only (card and terminal
    history, labels at least the model's delay old); those after ``end`` are ignored.

    Parameters
    ----------
    model
        The trained model.
    transactions
        A canonical transaction frame (:func:`~finai.fraud.transactions.load_transactions`)
        with labels known for every transaction of the period.
    start, end
        First and last day of the period, ISO 8601 text or dates.
    k
        Cards checked a day for card precision.
    progress
        Called with (fraction done, message).

    Raises
    ------
    ValidationError
        For dates that do not parse, ``end`` before ``start``, a period without
        transactions, or missing labels in it.
    """
    window = Window.parse(start, end)
    top = _top_k(k)
    history = history_before(check_transactions(transactions), window)
    rows = window.contains(history[TIME])
    if not rows.any():
        raise ValidationError(f"no transactions from {window.start} to {window.end}", field="start")
    labels = labels_of(history, rows, f"period {window}")
    if progress is not None:
        progress(0.1, f"features of {len(history):,} transactions")
    features = model.features(history).loc[rows]
    if progress is not None:
        progress(0.7, f"scoring {int(rows.sum()):,} transactions")
    scores = model.score(features)
    period = history.loc[rows]
    metrics = evaluate(
        scores,
        labels,
        timestamps=period[TIME],
        cards=period[CARD].to_numpy(dtype=object),
        amounts=period[AMOUNT].to_numpy(dtype=np.float64),
        thresholds=model.thresholds,
        days=window.days,
        k=top,
    )
    if progress is not None:
        progress(1.0, "done")
    return metrics
