"""Training on a time split: what it learns from, what it reports, what it refuses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from finai import registry
from finai.exceptions import ValidationError
from finai.fraud import training
from finai.fraud.evaluation import evaluate_model
from finai.fraud.windows import Window
from tests.fraud.simulations import (
    TEST_END,
    TEST_START,
    TRAIN_END,
    TRAIN_START,
    history,
    trained,
)


def test_train_reports_validation_metrics_and_budget_thresholds() -> None:
    result = trained()
    split = result.split
    assert (str(split.fit), str(split.validation)) == (
        "2026-04-01..2026-04-21",
        "2026-04-29..2026-05-05",
    )
    frame = history()
    assert result.fit_rows == int(split.fit.contains(frame["timestamp"]).sum())
    assert result.validation_rows == result.metrics.n
    metrics = result.metrics.to_dict()
    assert {"roc_auc", "average_precision", "card_precision_at_100", "n", "fraud_rate"} <= set(
        metrics
    )
    assert metrics["roc_auc"] is not None and metrics["roc_auc"] > 0.75
    assert metrics["alerts_per_day"] is not None and metrics["alerts_per_day"] <= 100
    assert result.model.thresholds.method == "budget"
    assert result.model.thresholds.alerts_per_day == 100
    assert result.model.config.delay_days == 7
    assert result.best_iteration is not None and result.seed == 7
    before_end = frame.loc[frame["timestamp"] < split.train.upper]
    assert result.data_fingerprint == registry.fingerprint(before_end)


@pytest.mark.parametrize("algorithm", ["lightgbm", "logistic", "isolation_forest"])
def test_models_beat_a_random_ranking_on_the_test_period(algorithm: str) -> None:
    frame = history()
    metrics = evaluate_model(trained(algorithm).model, frame, start=TEST_START, end=TEST_END)
    assert metrics.roc_auc is not None and metrics.average_precision is not None
    assert metrics.roc_auc > 0.65
    # A random ranking's average precision is the fraud rate.
    assert metrics.fraud_rate is not None
    assert metrics.average_precision > 5 * metrics.fraud_rate


class Recording:
    """Wraps an estimator and keeps the index of the rows it was fitted on."""

    def __init__(self, inner: Any, seen: list[pd.Index]) -> None:
        self.inner, self.seen = inner, seen

    def fit(self, X: pd.DataFrame, y: Any = None, **kwargs: Any) -> Recording:
        self.seen.append(X.index)
        self.inner.fit(X, y, **kwargs)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_no_transaction_after_the_fit_part_is_learned_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[pd.Index] = []
    build = training.build
    monkeypatch.setattr(training, "build", lambda a, s: Recording(build(a, s), seen))
    frame = history()
    result = training.train(
        frame, train_start=TRAIN_START, train_end=TRAIN_END, algorithm="logistic"
    )
    (fitted,) = seen
    learned = frame.loc[fitted]
    split = result.split
    assert learned["timestamp"].min() >= split.fit.lower
    assert learned["timestamp"].max() < split.fit.upper
    assert learned["timestamp"].max() < split.validation.lower - pd.Timedelta(days=7)
    test_ids = frame.loc[Window.parse(TEST_START, TEST_END).contains(frame["timestamp"])]
    assert set(learned["transaction_id"]).isdisjoint(test_ids["transaction_id"])
    validation = frame.loc[split.validation.contains(frame["timestamp"])]
    assert set(learned["transaction_id"]).isdisjoint(validation["transaction_id"])
    assert len(learned) == result.fit_rows


def test_what_happens_after_the_train_window_changes_nothing() -> None:
    frame = history()
    future = frame.copy()
    later = future["timestamp"] >= pd.Timestamp(TRAIN_END, tz="UTC") + pd.Timedelta(days=1)
    assert later.any()
    future.loc[later, "is_fraud"] = (1 - future.loc[later, "is_fraud"]).astype("int8")
    future.loc[later, "amount"] *= 10
    kept = training.train(
        future, train_start=TRAIN_START, train_end=TRAIN_END, algorithm="lightgbm", seed=7
    )
    original = trained()
    assert kept.metrics == original.metrics
    assert kept.model.thresholds == original.model.thresholds
    assert kept.data_fingerprint == original.data_fingerprint
    features = original.model.features(frame).tail(500)
    np.testing.assert_array_equal(kept.model.score(features), original.model.score(features))


def test_thresholds_by_cost_save_money_on_validation() -> None:
    result = training.train(
        history(),
        train_start=TRAIN_START,
        train_end=TRAIN_END,
        algorithm="logistic",
        threshold_method="cost",
        review_cost=2.0,
    )
    assert result.model.thresholds.method == "cost"
    assert result.model.thresholds.review_cost == 2.0
    assert result.metrics.net_savings is not None and result.metrics.net_savings > 0


def test_isolation_forest_trains_without_labels() -> None:
    unlabelled = history().drop(columns=["is_fraud"])
    result = training.train(
        unlabelled, train_start=TRAIN_START, train_end=TRAIN_END, algorithm="isolation_forest"
    )
    assert result.metrics.roc_auc is None and result.metrics.n_fraud is None
    assert result.metrics.alerts_per_day is not None and result.metrics.alerts_per_day <= 100
    with pytest.raises(ValidationError, match="needs labels") as caught:
        training.train(
            unlabelled,
            train_start=TRAIN_START,
            train_end=TRAIN_END,
            algorithm="isolation_forest",
            threshold_method="cost",
        )
    assert caught.value.field == "is_fraud"


def _no_fraud() -> pd.DataFrame:
    return history().assign(is_fraud=np.int8(0))


def _missing_label() -> pd.DataFrame:
    frame = history().astype({"is_fraud": "float64"})
    frame.loc[100, "is_fraud"] = np.nan
    return frame


def _fraud_only_before_validation() -> pd.DataFrame:
    frame = history().copy()
    late = frame["timestamp"] >= pd.Timestamp("2026-04-29", tz="UTC")
    frame.loc[late, "is_fraud"] = np.int8(0)
    return frame


@pytest.mark.parametrize(
    ("frame", "changes", "field", "words"),
    [
        (history, {"train_start": "2026-13-01"}, "train_start", "must be a date"),
        (history, {"train_end": "tomorrow"}, "train_end", "must be a date"),
        (history, {"train_end": "2026-03-01"}, "train_end", "is before train_start"),
        (history, {"train_end": "2026-04-05"}, "train_end", "needs at least"),
        (history, {"train_start": "2027-01-01", "train_end": "2027-02-01"}, "train_start",
         "no transactions in the fit part"),
        (history, {"train_start": "2026-03-01", "train_end": "2026-03-31"}, "train_start",
         "no transactions"),
        (_no_fraud, {}, "is_fraud", "one class only"),
        (_fraud_only_before_validation, {}, "is_fraud", "validation part .* has no fraud"),
        (_missing_label, {}, "is_fraud", "missing or not 0/1 for 1 transaction"),
        (lambda: history().drop(columns="is_fraud"), {}, "is_fraud", "no is_fraud column"),
        (lambda: history().assign(timestamp="2026-04-01"), {}, "timestamp", "timezone-aware"),
        (history, {"algorithm": "forest"}, "model", "must be one of lightgbm"),
        (history, {"threshold_method": "vibes"}, "threshold_method", "budget, cost"),
        (history, {"alerts_per_day": 0}, "alerts_per_day", "> 0"),
        (history, {"delay_days": -1}, "delay_days", ">= 0"),
        (history, {"k": 0}, "k", ">= 1"),
        (history, {"seed": -3}, "seed", ">= 0"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(
    frame: Any, changes: dict[str, Any], field: str, words: str
) -> None:
    arguments: dict[str, Any] = {"train_start": TRAIN_START, "train_end": TRAIN_END}
    arguments.update(changes)
    with pytest.raises(ValidationError, match=words) as caught:
        training.train(frame(), algorithm=arguments.pop("algorithm", "logistic"), **arguments)
    assert caught.value.field == field
