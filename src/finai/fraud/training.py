"""Training with a time split: fit on the past, validate on a later period, set thresholds.

``train`` takes a canonical transaction frame and a train window (whole UTC days):

1. features of every transaction up to the end of the train window, each from the
   history before it (:func:`finai.fraud.features.offline_features`; terminal fraud
   rates only count labels at least ``delay_days`` old);
2. the train window is cut (:func:`~finai.fraud.windows.time_split`) into a fit
   part, a gap of ``delay_days`` and a validation part at its end;
3. the estimator learns from the fit part (LightGBM stops boosting when the
   validation part's average precision stalls);
4. the thresholds are chosen on the validation part's scores (by alert budget or
   by cost, :mod:`finai.fraud.thresholds`) and the validation metrics measured.

The registered model is the one fitted on the fit part: its validation metrics and
thresholds describe exactly that estimator. Nothing after the train window is read,
and no transaction of the gap or the validation part is learned from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from finai.exceptions import ValidationError
from finai.fraud.artifact import FraudModel
from finai.fraud.evaluation import TOP_K, FraudMetrics, evaluate
from finai.fraud.features import FeatureConfig, offline_features
from finai.fraud.models import ALGORITHMS, SUPERVISED, build
from finai.fraud.thresholds import (
    BLOCK_SHARE,
    REVIEW_COST,
    Thresholds,
    by_alert_budget,
    by_cost,
)
from finai.fraud.transactions import AMOUNT, CARD, TIME
from finai.fraud.windows import (
    TimeSplit,
    Window,
    check_transactions,
    history_before,
    labels_of,
    time_split,
)
from finai.registry import fingerprint

__all__ = ["ALERTS_PER_DAY", "TrainResult", "train"]

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
ALERTS_PER_DAY = 100.0
"""Default alert budget: as many alerts a day as the cards of ``card_precision_at_100``."""


@dataclass(frozen=True)
class TrainResult:
    """A trained fraud model and how it did on the validation part.

    Attributes
    ----------
    model
        The fitted model with its thresholds.
    metrics
        Validation metrics (:class:`~finai.fraud.evaluation.FraudMetrics`).
    fit_rows, validation_rows
        Transactions in the fit and validation parts.
    fit_seconds
        Seconds the estimator took to fit.
    best_iteration
        Boosting rounds kept (LightGBM), else None.
    data_fingerprint
        sha256 of the transactions the features were computed from (all up to the
        end of the train window).
    """

    model: FraudModel
    metrics: FraudMetrics
    fit_rows: int
    validation_rows: int
    fit_seconds: float
    best_iteration: int | None
    data_fingerprint: str

    @property
    def split(self) -> TimeSplit:
        """The train window and its parts."""
        return self.model.split

    @property
    def seed(self) -> int:
        """Seed of the estimator."""
        return self.model.seed


def _choice(value: object, allowed: tuple[str, ...], field: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(
            f"{field} must be one of {', '.join(allowed)}, got {value!r}", field=field
        )
    return value


def train(
    transactions: pd.DataFrame,
    *,
    train_start: object,
    train_end: object,
    delay_days: int = 7,
    algorithm: str = "lightgbm",
    validation_days: int | None = None,
    threshold_method: str = "budget",
    alerts_per_day: float = ALERTS_PER_DAY,
    review_cost: float = REVIEW_COST,
    block_share: float = BLOCK_SHARE,
    k: int = TOP_K,
    seed: int = 42,
    progress: Progress | None = None,
) -> TrainResult:
    """Train a fraud model on a train window and validate it on the window's last days.

    Parameters
    ----------
    transactions
        A canonical transaction frame (:func:`~finai.fraud.transactions.load_transactions`,
        :func:`~finai.fraud.simulator.simulate`). Supervised models need ``is_fraud``
        known for every transaction of the train window; before it, a missing label
        counts as not yet known.
    train_start, train_end
        First and last day of the train window (UTC), ISO 8601 text or dates.
    delay_days
        Label delay in days: the features' delay and the gap before validation.
    algorithm
        ``"lightgbm"``, ``"logistic"`` or ``"isolation_forest"`` (no labels needed).
    validation_days
        Days held out at the end of the train window (default: a quarter of the days
        after the gap).
    threshold_method
        ``"budget"`` (at most ``alerts_per_day`` alerts a day) or ``"cost"`` (most
        money saved net of ``review_cost`` per alert; needs labels).
    alerts_per_day, review_cost, block_share
        See :mod:`finai.fraud.thresholds`.
    k
        Cards checked a day for the validation card precision.
    seed
        Seeds the estimator; recorded with the model.
    progress
        Called with (fraction done, message).

    Returns
    -------
    TrainResult

    Raises
    ------
    ValidationError
        For dates that do not parse or ``train_end`` before ``train_start``, a train
        window too short for the split, a fit or validation part without
        transactions, missing labels, or a supervised fit part with one class; the
        field names the culprit.
    """
    algorithm = _choice(algorithm, ALGORITHMS, "model")
    method = _choice(threshold_method, ("budget", "cost"), "threshold_method")
    supervised = algorithm in SUPERVISED
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError(f"seed must be a whole number >= 0, got {seed!r}", field="seed")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValidationError(f"k must be a whole number >= 1, got {k!r}", field="k")
    window = Window.parse(train_start, train_end, start_field="train_start", end_field="train_end")
    split = time_split(window, delay_days, validation_days)
    config = FeatureConfig(delay_days=delay_days)
    # Check the threshold arguments now rather than after the long work.
    by_alert_budget(
        [0.0], days=1, alerts_per_day=alerts_per_day, review_cost=review_cost,
        block_share=block_share,
    )  # fmt: skip

    def tick(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    history = history_before(check_transactions(transactions), window)
    stamps = history[TIME]
    fit_rows, valid_rows = split.fit.contains(stamps), split.validation.contains(stamps)
    for part, rows, field in (
        (f"fit part {split.fit}", fit_rows, "train_start"),
        (f"validation part {split.validation}", valid_rows, "train_end"),
    ):
        if not rows.any():
            raise ValidationError(f"no transactions in the {part} of the train window", field=field)
    fit_y = labels_of(history, fit_rows, f"fit part {split.fit}") if supervised else None
    needs_labels = supervised or method == "cost"
    valid_y = (
        labels_of(history, valid_rows, f"validation part {split.validation}")
        if needs_labels
        else _optional_labels(history, valid_rows)
    )
    if fit_y is not None and fit_y.min() == fit_y.max():
        raise ValidationError(
            f"the fit part {split.fit} of the train window has one class only"
            f" ({'all fraud' if fit_y[0] else 'no fraud'}); widen the train window",
            field="is_fraud",
        )
    if supervised and valid_y is not None and not valid_y.any():
        raise ValidationError(
            f"the validation part {split.validation} of the train window has no fraud;"
            " widen the train window",
            field="is_fraud",
        )

    tick(0.05, f"features of {len(history):,} transactions")
    features = offline_features(history, config)
    names = config.feature_names
    X_fit = features.loc[fit_rows, list(names)]
    X_valid = features.loc[valid_rows, list(names)]
    tick(0.35, f"fitting {algorithm} on {len(X_fit):,} transactions")
    estimator = build(algorithm, seed)
    started = time.perf_counter()
    if algorithm == "lightgbm":
        estimator.fit(X_fit, fit_y, eval_set=(X_valid, valid_y))
    elif supervised:
        estimator.fit(X_fit, fit_y)
    else:
        estimator.fit(X_fit)
    seconds = time.perf_counter() - started
    tick(0.85, f"validating on {len(X_valid):,} transactions")
    scores = np.clip(estimator.fraud_score(X_valid), 0.0, 1.0)
    valid = history.loc[valid_rows]
    thresholds: Thresholds
    if method == "cost" and valid_y is not None:  # cost needs labels: checked above
        thresholds = by_cost(
            scores,
            valid_y,
            valid[AMOUNT].to_numpy(dtype=np.float64),
            review_cost=review_cost,
            block_share=block_share,
        )
    else:
        thresholds = by_alert_budget(
            scores,
            days=split.validation.days,
            alerts_per_day=alerts_per_day,
            review_cost=review_cost,
            block_share=block_share,
        )
    metrics = evaluate(
        scores,
        valid_y,
        timestamps=valid[TIME],
        cards=valid[CARD].to_numpy(dtype=object),
        amounts=valid[AMOUNT].to_numpy(dtype=np.float64),
        thresholds=thresholds,
        days=split.validation.days,
        k=k,
    )
    model = FraudModel(
        estimator=estimator,
        algorithm=algorithm,
        config=config,
        thresholds=thresholds,
        feature_names=names,
        split=split,
        seed=seed,
    )
    best: Any = getattr(estimator, "best_iteration_", None)
    result = TrainResult(
        model=model,
        metrics=metrics,
        fit_rows=int(fit_rows.sum()),
        validation_rows=int(valid_rows.sum()),
        fit_seconds=round(seconds, 3),
        best_iteration=int(best) if best is not None else None,
        data_fingerprint=fingerprint(history),
    )
    logger.info(
        "fraud model trained",
        extra={"algorithm": algorithm, "rows": result.fit_rows, "fit_seconds": seconds},
    )
    tick(1.0, "done")
    return result


def _optional_labels(
    history: pd.DataFrame, rows: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int8] | None:
    """Labels of ``rows`` when all are known, else None (an unsupervised model's metrics)."""
    try:
        return labels_of(history, rows, "validation part")
    except ValidationError:
        return None
