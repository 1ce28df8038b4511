from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_curve

from finai.credit.metrics import (
    MAX_POINTS,
    PSI_FLOOR,
    evaluate,
    ks_curve,
    psi,
    psi_table,
    roc_points,
    score_distribution,
)
from finai.exceptions import ValidationError

Y = [0, 0, 1, 1]
P = [0.1, 0.4, 0.35, 0.8]


def two_sample_ks(a: np.ndarray, b: np.ndarray) -> float:
    """Largest gap between the two empirical CDFs, computed on every observed value."""
    grid = np.unique(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    y = rng.binomial(1, 0.2, 5_000)
    p = 1 / (1 + np.exp(-(rng.normal(0, 1, 5_000) + 1.5 * y - 2)))
    return y, p


def test_evaluate_matches_hand_computed_values() -> None:
    m = evaluate(Y, P)
    assert m.n == 4 and m.bad_rate == 0.5
    assert m.auc == pytest.approx(0.75)  # 3 of 4 bad-good pairs ranked right
    assert m.gini == pytest.approx(0.5)
    assert m.ks == pytest.approx(0.5)
    assert m.brier == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)
    expected_ll = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert m.log_loss == pytest.approx(expected_ll)
    assert m.score_auc is None


def test_perfect_and_inverted_rankings() -> None:
    perfect = evaluate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert (perfect.auc, perfect.gini, perfect.ks) == (1.0, 1.0, 1.0)
    inverted = evaluate([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])
    assert (inverted.auc, inverted.gini) == (0.0, -1.0)
    assert inverted.ks == 1.0  # a distance between distributions: direction-free


def test_ks_is_the_largest_gap_between_tpr_and_fpr(sample: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = sample
    fpr, tpr, _ = roc_curve(y, p)
    m = evaluate(y, p)
    assert m.ks == pytest.approx(np.max(np.abs(tpr - fpr)))
    assert m.ks == pytest.approx(two_sample_ks(p[y == 1], p[y == 0]))


def test_calibration_bins_are_deciles_of_predicted_pd(
    sample: tuple[np.ndarray, np.ndarray],
) -> None:
    y, p = sample
    bins = evaluate(y, p).calibration
    assert len(bins) == 10
    assert sum(b.count for b in bins) == len(y)
    assert all(abs(b.count - 500) <= 1 for b in bins)
    assert [b.mean_pd for b in bins] == sorted(b.mean_pd for b in bins)
    first = p <= bins[0].upper
    assert bins[0].bad_rate == pytest.approx(y[first].mean())
    assert bins[0].mean_pd == pytest.approx(p[first].mean())
    assert all(b.lower <= b.mean_pd <= b.upper for b in bins)
    assert bins[-1].bad_rate > bins[0].bad_rate


def test_calibration_merges_tied_predictions() -> None:
    y = [0, 1, 0, 1, 0, 0, 1, 1]
    p = [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.7, 0.7]
    bins = evaluate(y, p).calibration
    assert [(b.count, b.lower, b.upper) for b in bins] == [(6, 0.2, 0.2), (2, 0.7, 0.7)]
    assert [b.mean_pd for b in bins] == pytest.approx([0.2, 0.7])
    assert [b.bad_rate for b in bins] == pytest.approx([2 / 6, 1.0])


def test_score_auc_agrees_with_a_score_that_ranks_like_the_pd(
    sample: tuple[np.ndarray, np.ndarray],
) -> None:
    y, p = sample
    scores = 600 - 50 * np.log(p / (1 - p))
    m = evaluate(y, p, scores=scores)
    assert m.score_auc == pytest.approx(m.auc)


def test_to_dict_is_json_safe_and_has_what_the_cli_prints(
    sample: tuple[np.ndarray, np.ndarray],
) -> None:
    y, p = sample
    data = evaluate(y, p).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert {"auc", "gini", "ks", "brier", "n", "log_loss", "bad_rate", "calibration"} <= set(data)
    assert isinstance(data["n"], int) and isinstance(data["auc"], float)
    assert json.loads(text)["calibration"][0].keys() == {
        "lower",
        "upper",
        "count",
        "mean_pd",
        "bad_rate",
    }


def test_log_loss_stays_finite_for_certain_wrong_predictions() -> None:
    m = evaluate([0, 1], [1.0, 0.0])
    assert math.isfinite(m.log_loss) and m.log_loss > 10


@pytest.mark.parametrize(
    ("y", "p", "field", "words"),
    [
        ([0, 0, 0], [0.1, 0.2, 0.3], "y", r"one class only \(all 0\)"),
        ([1, 1], [0.1, 0.2], "y", "one class only"),
        ([], [], "y", "empty"),
        ([0, 2], [0.1, 0.2], "y", "only 0"),
        ([0, np.nan], [0.1, 0.2], "y", "only 0"),
        ([0, 1], [0.1], "pd", "pd has 1 values but y has 2"),
        ([0, 1], [0.1, 1.2], "pd", r"\[0, 1\]"),
        ([0, 1], [0.1, np.nan], "pd", "missing or infinite"),
        ([0, 1], ["a", "b"], "pd", "must be numbers"),
        ([[0, 1]], [[0.1, 0.2]], "y", "one-dimensional"),
    ],
)
def test_evaluate_refuses_bad_input(y: object, p: object, field: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        evaluate(y, p)  # type: ignore[arg-type]
    assert info.value.field == field


def test_evaluate_refuses_scores_of_another_length() -> None:
    with pytest.raises(ValidationError, match="scores has 1 values"):
        evaluate(Y, P, scores=[1.0])


# -- curves --------------------------------------------------------------------------------


def test_roc_points_are_downsampled_and_span_the_square(
    sample: tuple[np.ndarray, np.ndarray],
) -> None:
    y, p = sample
    roc = roc_points(y, p)
    assert len(roc.fpr) == len(roc.tpr) == len(roc.thresholds) <= MAX_POINTS
    assert (roc.fpr[0], roc.tpr[0], roc.fpr[-1], roc.tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(roc.fpr) >= 0) and np.all(np.diff(roc.tpr) >= 0)
    assert np.all(roc.thresholds <= 1.0) and np.isfinite(roc.thresholds).all()
    area = np.sum(np.diff(roc.fpr) * (roc.tpr[1:] + roc.tpr[:-1]) / 2)
    assert area == pytest.approx(evaluate(y, p).auc, abs=0.005)


def test_roc_points_keep_small_curves_whole() -> None:
    roc = roc_points(Y, P)
    assert roc.fpr.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert roc.tpr.tolist() == [0.0, 0.5, 0.5, 1.0, 1.0]


def test_ks_curve_keeps_the_peak(sample: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = sample
    curve = ks_curve(y, p, max_points=50)
    assert len(curve.thresholds) <= 50
    assert curve.ks == pytest.approx(evaluate(y, p).ks)
    gaps = np.abs(curve.bad_share - curve.good_share)
    assert gaps.max() == pytest.approx(curve.ks)
    assert curve.ks_threshold in curve.thresholds
    flagged = p >= curve.ks_threshold
    assert flagged[y == 1].mean() - flagged[y == 0].mean() == pytest.approx(curve.ks)
    assert curve.population[0] == 0.0 and curve.population[-1] == 1.0
    assert np.all(np.diff(curve.population) >= 0)


# -- stability -----------------------------------------------------------------------------


def test_psi_is_zero_for_identical_samples_and_grows_with_shift() -> None:
    rng = np.random.default_rng(42)
    reference = rng.normal(600, 50, 10_000)
    assert psi(reference, reference) == 0.0
    shifts = [psi(reference, reference + shift) for shift in (0, 10, 25, 50, 100)]
    assert shifts[0] == 0.0
    assert shifts == sorted(shifts) and shifts[-1] > 1.0
    assert psi(reference, rng.normal(600, 50, 10_000)) < 0.01


def test_psi_matches_a_hand_computed_table() -> None:
    expected = [1, 2, 3, 4]
    actual = [1, 1, 1, 4]
    table = psi_table(expected, actual, bins=2)
    assert [(b.lower, b.upper) for b in table] == [(-math.inf, 2.5), (2.5, math.inf)]
    assert [(b.expected, b.actual) for b in table] == [(0.5, 0.75), (0.5, 0.25)]
    value = (0.75 - 0.5) * math.log(0.75 / 0.5) + (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert psi(expected, actual, bins=2) == pytest.approx(value)


def test_psi_floors_empty_bins_and_counts_missing_values() -> None:
    table = psi_table([1, 2, 3, 4], [10, 10, 10, 10], bins=4)
    assert table[0].actual == 0.0
    expected_first = (PSI_FLOOR - 0.25) * math.log(PSI_FLOOR / 0.25)
    assert table[0].contribution == pytest.approx(expected_first)
    assert math.isfinite(psi([1, 2, 3, 4], [10, 10, 10, 10], bins=4))
    with_missing = psi_table([1, 2, 3, np.nan], [1, 2, 3, 4])
    assert math.isnan(with_missing[-1].lower) and with_missing[-1].expected == 0.25
    assert sum(b.expected for b in with_missing) == pytest.approx(1.0)
    assert sum(b.actual for b in with_missing) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("expected", "actual", "bins", "words"),
    [
        ([], [1.0], 10, "expected is empty"),
        ([1.0], [np.inf], 10, "actual has infinite values"),
        ([1.0], [1.0], 0, "bins must be"),
    ],
)
def test_psi_refuses_bad_input(
    expected: list[float], actual: list[float], bins: int, words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        psi(expected, actual, bins=bins)


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
    st.integers(1, 12),
)
@settings(max_examples=200, deadline=None)
def test_psi_is_finite_and_non_negative(ref: list[float], cur: list[float], bins: int) -> None:
    table = psi_table(ref, cur, bins)
    assert sum(b.expected for b in table) == pytest.approx(1.0)
    assert sum(b.actual for b in table) == pytest.approx(1.0)
    value = psi(ref, cur, bins)
    assert math.isfinite(value) and value >= 0.0
    assert psi(ref, ref, bins) == 0.0


# -- distributions -------------------------------------------------------------------------


def test_score_distribution_splits_by_outcome(sample: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = sample
    scores = 600 - 50 * np.log(p / (1 - p))
    dist = score_distribution(scores, y, bins=20)
    assert len(dist.edges) == 21 and len(dist.counts) == 20
    assert dist.counts.sum() == len(scores)
    assert dist.bad_counts is not None and dist.good_counts is not None
    assert np.array_equal(dist.bad_counts + dist.good_counts, dist.counts)
    assert dist.bad_counts.sum() == y.sum()
    plain = score_distribution(scores)
    assert plain.bad_counts is None and np.array_equal(plain.counts, dist.counts)


@pytest.mark.parametrize(
    ("scores", "y", "words"),
    [
        ([], None, "empty"),
        ([1.0, np.nan], None, "missing or infinite"),
        ([1.0, 2.0], [0], "y has 1 values"),
    ],
)
def test_score_distribution_refuses_bad_input(
    scores: list[float], y: list[int] | None, words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        score_distribution(scores, y)


# -- properties ----------------------------------------------------------------------------


@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.floats(0, 1)),
        min_size=2,
        max_size=60,
    ).filter(lambda rows: len({label for label, _ in rows}) == 2)
)
@settings(max_examples=200, deadline=None)
def test_metrics_hold_their_identities(rows: list[tuple[int, float]]) -> None:
    y = np.array([label for label, _ in rows])
    p = np.array([value for _, value in rows])
    m = evaluate(y, p)
    assert 0.0 <= m.auc <= 1.0 and m.gini == pytest.approx(2 * m.auc - 1)
    assert m.ks == pytest.approx(two_sample_ks(p[y == 1], p[y == 0]))
    assert 0.0 <= m.brier <= 1.0 and m.log_loss >= 0.0
    assert sum(b.count for b in m.calibration) == len(y)
    json.dumps(m.to_dict(), allow_nan=False)
    assert len(roc_points(y, p, max_points=5).fpr) <= 5
    assert ks_curve(y, p, max_points=5).ks == pytest.approx(m.ks)
