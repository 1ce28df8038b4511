"""Fraud metrics: card precision by hand, the alert and money metrics, a test period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from finai.exceptions import ValidationError
from finai.fraud.evaluation import card_precision_top_k, evaluate, evaluate_model
from finai.fraud.thresholds import Thresholds
from finai.fraud.windows import Window
from tests.fraud.simulations import TEST_END, TEST_START, history, trained

# (day, card, score, label): three days, k = 2.
ROWS = [
    (1, "a", 0.9, 0), (1, "a", 0.2, 1),  # a: top score 0.9, compromised (a fraud that day)
    (1, "b", 0.8, 0),
    (1, "c", 0.7, 1),
    (1, "d", 0.1, 1),
    (2, "a", 0.95, 1),  # found on day 1: left out of day 2 when detected cards are removed
    (2, "e", 0.5, 1),
    (2, "d", 0.4, 0),
    (2, "c", 0.3, 1),
    (3, "f", 0.9, 1),  # one card only: at most 1 of k = 2
]  # fmt: skip


def tiny() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["day", "card", "score", "label"])
    frame["timestamp"] = pd.Timestamp("2026-03-31 12:00", tz="UTC") + pd.to_timedelta(
        frame["day"], unit="D"
    )
    return frame


def test_card_precision_by_hand() -> None:
    frame = tiny()
    args = {"cards": frame["card"], "timestamps": frame["timestamp"], "k": 2}
    # Day 1: top a, b -> 1 of 2. Day 2 without a: e, d -> 1 of 2. Day 3: f -> 1 of 2.
    removed = card_precision_top_k(frame["score"], frame["label"], **args)
    assert removed == pytest.approx((0.5 + 0.5 + 0.5) / 3)
    # Keeping a on day 2: a, e -> 2 of 2.
    kept = card_precision_top_k(frame["score"], frame["label"], remove_detected=False, **args)
    assert kept == pytest.approx((0.5 + 1.0 + 0.5) / 3)


def test_card_precision_breaks_ties_by_card_id_and_uses_utc_days() -> None:
    times = pd.Series(
        pd.to_datetime(
            ["2026-04-01T23:30:00+00:00", "2026-04-01T23:30:00+00:00", "2026-04-02T00:30:00+02:00"],
            utc=True,
        )
    )
    # The third one is 22:30 UTC on April 1: the same day, card c's score is the max.
    assert card_precision_top_k([0.5, 0.5, 0.1], [1, 0, 0], cards=["b", "a", "c"],
                                timestamps=times, k=1) == 0.0  # fmt: skip
    assert card_precision_top_k([0.5, 0.5, 0.9], [1, 0, 1], cards=["b", "a", "c"],
                                timestamps=times, k=1) == 1.0  # fmt: skip


def test_card_precision_refuses_bad_input() -> None:
    times = pd.Series(pd.to_datetime(["2026-04-01"], utc=True))
    with pytest.raises(ValidationError) as caught:
        card_precision_top_k([0.5], [1], cards=["a"], timestamps=times, k=0)
    assert caught.value.field == "k"
    with pytest.raises(ValidationError):
        card_precision_top_k([0.5], [2], cards=["a"], timestamps=times)
    with pytest.raises(ValidationError):
        card_precision_top_k([0.5, 0.1], [1, 0], cards=["a"], timestamps=times)


def test_evaluate_matches_scikit_learn_and_counts_alerts_and_money() -> None:
    frame = tiny()
    amounts = np.arange(1.0, len(frame) + 1)
    thresholds = Thresholds(review=0.5, block=0.9, method="budget", review_cost=2.0)
    m = evaluate(
        frame["score"],
        frame["label"],
        timestamps=frame["timestamp"],
        cards=frame["card"],
        amounts=amounts,
        thresholds=thresholds,
        k=2,
    )
    assert m.n == 10 and m.n_fraud == 7 and m.fraud_rate == 0.7 and m.days == 3
    assert m.roc_auc == pytest.approx(roc_auc_score(frame["label"], frame["score"]))
    assert m.average_precision == pytest.approx(
        average_precision_score(frame["label"], frame["score"])
    )
    alerted = frame["score"] >= 0.5  # 0.9, 0.8, 0.7, 0.95, 0.5 and 0.9
    assert alerted.sum() == 6
    assert m.alert_rate == pytest.approx(alerted.mean())
    assert m.alerts_per_day == pytest.approx(alerted.sum() / 3)
    assert m.block_rate == pytest.approx((frame["score"] >= 0.9).mean())
    caught = alerted & (frame["label"] == 1)
    assert m.fraud_caught_rate == pytest.approx(caught.sum() / 7)
    assert m.money_saved == pytest.approx(amounts[caught].sum())
    assert m.review_cost == pytest.approx(2.0 * alerted.sum())
    assert m.net_savings == pytest.approx(m.money_saved - m.review_cost)
    assert m.to_dict()["card_precision_at_2"] == m.card_precision_top_k


def test_evaluate_without_labels_or_with_one_class() -> None:
    frame = tiny()
    unlabelled = evaluate(frame["score"], None, timestamps=frame["timestamp"],
                          cards=frame["card"], amounts=np.ones(10))  # fmt: skip
    assert unlabelled.roc_auc is None and unlabelled.card_precision_top_k is None
    assert unlabelled.alert_rate is None
    one_class = evaluate(frame["score"], np.zeros(10), timestamps=frame["timestamp"],
                         cards=frame["card"], amounts=np.ones(10))  # fmt: skip
    assert one_class.roc_auc is None and one_class.average_precision is None
    assert one_class.card_precision_top_k == 0.0 and one_class.fraud_rate == 0.0


def test_evaluate_model_reads_the_history_for_features_only() -> None:
    result = trained()
    frame = history()
    period = Window.parse(TEST_START, TEST_END)
    metrics = evaluate_model(result.model, frame, start=TEST_START, end=TEST_END)
    inside = period.contains(frame["timestamp"])
    assert metrics.n == int(inside.sum())
    assert metrics.n_fraud == int(frame.loc[inside, "is_fraud"].sum())
    assert metrics.days == 18
    # Transactions after the period change nothing; the history before it does.
    before_end = frame.loc[frame["timestamp"] < period.upper]
    assert evaluate_model(result.model, before_end, start=TEST_START, end=TEST_END) == metrics
    no_history = frame.loc[frame["timestamp"] >= period.lower]
    assert evaluate_model(result.model, no_history, start=TEST_START, end=TEST_END) != metrics


def test_evaluate_model_refuses_bad_periods() -> None:
    model = trained().model
    frame = history()
    with pytest.raises(ValidationError) as caught:
        evaluate_model(model, frame, start="2026-05-30", end="2026-05-13")
    assert caught.value.field == "end"
    with pytest.raises(ValidationError) as caught:
        evaluate_model(model, frame, start="May 13", end="2026-05-30")
    assert caught.value.field == "start"
    with pytest.raises(ValidationError, match="no transactions") as caught:
        evaluate_model(model, frame, start="2027-01-01", end="2027-01-31")
    assert caught.value.field == "start"
    unlabelled = frame.astype({"is_fraud": "float64"})
    unlabelled.loc[unlabelled.index[-1], "is_fraud"] = np.nan
    with pytest.raises(ValidationError) as caught:
        evaluate_model(model, unlabelled, start=TEST_START, end="2026-05-30")
    assert caught.value.field == "is_fraud"
    # A missing label outside the period counts as not yet known.
    evaluate_model(model, unlabelled, start=TEST_START, end="2026-05-20")
