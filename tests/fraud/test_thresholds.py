"""Alert thresholds: by budget, by cost, and the allow / review / block decision."""

from __future__ import annotations

import numpy as np
import pytest

from finai.exceptions import ValidationError
from finai.fraud.thresholds import Action, Thresholds, by_alert_budget, by_cost


def test_budget_alerts_at_most_the_budget_a_day() -> None:
    scores = np.random.default_rng(42).random(1_000)
    t = by_alert_budget(scores, days=10, alerts_per_day=7, block_share=0.2)
    assert int(t.alerted(scores).sum()) == 70
    assert int((scores >= t.block).sum()) == 14
    assert t.method == "budget" and t.alerts_per_day == 7


def test_budget_ties_fall_on_the_lenient_side() -> None:
    scores = [0.9, 0.5, 0.5, 0.5, 0.1]
    t = by_alert_budget(scores, days=1, alerts_per_day=2, block_share=0.0)
    assert t.alerted(scores).tolist() == [True, False, False, False, False]
    assert t.block > 0.9  # a share of 0 blocks nothing


def test_budget_larger_than_the_rows_alerts_everything() -> None:
    t = by_alert_budget([0.2, 0.4], days=1, alerts_per_day=10)
    assert t.review == 0.2


def test_cost_threshold_maximises_net_savings() -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    labels = [1, 0, 1, 0, 0]
    amounts = [100.0, 50.0, 8.0, 10.0, 10.0]
    # Net savings down the ranking with a review cost of 5: 95, 90, 93, 88, 83.
    t = by_cost(scores, labels, amounts, review_cost=5.0, block_share=0.5)
    assert t.alerted(scores).tolist() == [True, False, False, False, False]
    assert t.review == 0.9
    assert t.block > 0.9  # half of one alert rounds down: nothing blocked
    cheap = by_cost(scores, labels, amounts, review_cost=1.0, block_share=0.5)
    assert cheap.alerted(scores).tolist() == [True, True, True, False, False]
    assert cheap.decide(scores)[:3] == [Action.BLOCK, Action.REVIEW, Action.REVIEW]


def test_cost_alerts_nothing_when_nothing_pays() -> None:
    t = by_cost([0.9, 0.1], [1, 0], [2.0, 3.0], review_cost=5.0)
    assert not t.alerted([0.9, 0.1]).any()


def test_decide_maps_scores_to_actions() -> None:
    t = Thresholds(review=0.3, block=0.8, method="budget")
    assert t.decide([0.1, 0.3, 0.79, 0.8, 1.0]) == [
        Action.ALLOW,
        Action.REVIEW,
        Action.REVIEW,
        Action.BLOCK,
        Action.BLOCK,
    ]
    assert t.to_dict()["review"] == 0.3


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: by_alert_budget([0.5], days=0, alerts_per_day=1), "days"),
        (lambda: by_alert_budget([0.5], days=1, alerts_per_day=0), "alerts_per_day"),
        (lambda: by_alert_budget([1.5], days=1, alerts_per_day=1), "scores"),
        (lambda: by_alert_budget([], days=1, alerts_per_day=1), "scores"),
        (lambda: by_alert_budget([0.5], days=1, alerts_per_day=1, block_share=2), "block_share"),
        (lambda: by_cost([0.5], [2], [1.0]), "labels"),
        (lambda: by_cost([0.5], [1], [-1.0]), "amounts"),
        (lambda: by_cost([0.5], [1, 0], [1.0]), "labels"),
        (lambda: by_cost([0.5], [1], [1.0], review_cost=-1), "review_cost"),
        (lambda: Thresholds(review=0.5, block=0.4, method="cost"), "block"),
    ],
)
def test_bad_arguments_name_the_field(call: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.field == field
