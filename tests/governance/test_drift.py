"""PSI, the bands, the training reference and drift reports of tables, against hand values."""

from __future__ import annotations

import copy
import math
import pickle
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from finai import credit, governance
from finai.credit import CreditModel, DatasetSpec, DriftReference
from finai.credit.artifact import categorical_bins, numeric_bins
from finai.credit.training import TrainResult
from finai.datasets import LoanBook
from finai.exceptions import ValidationError

FLOOR = 1e-4


def term(actual: float, expected: float) -> float:
    """One bin's PSI term, shares floored as the module documents."""
    a, e = max(actual, FLOOR), max(expected, FLOOR)
    return (a - e) * math.log(a / e)


def test_psi_of_two_bins_by_hand() -> None:
    # (0.6 - 0.5) ln(0.6 / 0.5) + (0.4 - 0.5) ln(0.4 / 0.5)
    assert governance.psi([0.5, 0.5], [0.6, 0.4]) == pytest.approx(0.0405465, abs=1e-7)


def test_psi_floors_an_empty_bin() -> None:
    # the third bin is empty in the reference: (0.1 - 0.0001) ln(0.1 / 0.0001) = 0.690085
    value = governance.psi([0.5, 0.5, 0.0], [0.5, 0.4, 0.1])
    assert value == pytest.approx(0.0223144 + 0.6900847, abs=1e-6)
    assert math.isfinite(governance.psi([1.0, 0.0], [0.0, 1.0]))


def test_identical_shares_give_zero() -> None:
    assert governance.psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    assert governance.psi([0.0, 1.0], [0.0, 1.0]) == 0.0


@pytest.mark.parametrize(
    ("expected", "actual"),
    [([0.5, 0.5], [1.0]), ([], []), ([0.5, 0.5], [1.5, -0.5]), ([0.5, math.nan], [0.5, 0.5])],
)
def test_psi_refuses_bad_shares(expected: list[float], actual: list[float]) -> None:
    with pytest.raises(ValidationError):
        governance.psi(expected, actual)


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (0.0, "stable"),
        (0.0999, "stable"),
        (0.1, "watch"),
        (0.2, "watch"),
        (0.25, "watch"),
        (0.2501, "act"),
        (3.0, "act"),
    ],
)
def test_band_edges(value: float, band: str) -> None:
    assert governance.band(value) == band


def test_numeric_bins_are_deciles_plus_missing() -> None:
    ref = numeric_bins("x", np.array([*range(1, 11), math.nan, math.nan], dtype=float))
    assert ref.edges == (1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert ref.proportions == pytest.approx([1 / 12] * 10 + [2 / 12])
    assert ref.labels[0] == "<= 1" and ref.labels[1] == "(1, 2]" and ref.labels[-2] == "> 9"
    values = np.array([0.5, 1.0, 1.5, 9.0, 9.5, 100.0, math.nan])
    assert ref.bin_array(values).tolist() == [0, 0, 1, 8, 9, 9, 10]
    assert [ref.bin_value(v) for v in values] == [0, 0, 1, 8, 9, 9, 10]


def test_numeric_bins_with_ties_have_no_empty_value_bin() -> None:
    ref = numeric_bins("n", np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 2], dtype=float))
    assert ref.edges == (0, 1)
    assert ref.proportions == pytest.approx([0.7, 0.2, 0.1, 0.0])
    single = numeric_bins("one", np.array([3.0, 3.0]))
    assert single.edges == () and single.proportions == (1.0, 0.0)


def test_categorical_bins_have_other_and_missing() -> None:
    ref = categorical_bins("c", np.array(["b", "a", "a", math.nan], dtype=object))
    assert ref.categories == ("a", "b")
    assert ref.proportions == pytest.approx([0.5, 0.25, 0.0, 0.25])
    assert ref.labels == ("a", "b", "(other)", "(missing)")
    values = np.array(["a", "b", "never seen", math.nan], dtype=object)
    assert ref.bin_array(values).tolist() == [0, 1, 2, 3]
    assert [ref.bin_value(v) for v in values] == [0, 1, 2, 3]


def test_rare_categories_share_the_other_bin() -> None:
    names = [f"c{i:03d}" for i in range(60)]
    values = np.array(names + ["c000"] * 5, dtype=object)
    ref = categorical_bins("many", values)
    assert len(ref.categories) == 50 and ref.categories[0] == "c000"
    assert ref.proportions[50] == pytest.approx(10 / 65)


class ScoreByCategory:
    """A stand-in estimator whose score is 600 for category ``a`` and 500 otherwise."""

    def credit_score(self, X: pd.DataFrame) -> np.ndarray:
        return np.where(X["c"].to_numpy() == "a", 600.0, 500.0)


@pytest.fixture
def small_model() -> CreditModel:
    spec = DatasetSpec(target="y", numeric=("x",), categorical=("c",))
    training = pd.DataFrame(
        {"x": np.arange(1.0, 11.0), "c": np.array(["a"] * 6 + ["b"] * 4, dtype=object)}
    )
    scores = ScoreByCategory().credit_score(training)
    return CreditModel(
        estimator=cast(Any, ScoreByCategory()),
        spec=spec,
        algorithm="stand-in",
        reference_scores=scores,
        reference=DriftReference.from_training(training, spec, scores),
    )


def test_drift_report_by_hand(small_model: CreditModel) -> None:
    current = pd.DataFrame(
        {
            "x": [1.0, 1.0, 2.0, 10.0, None],
            "c": ["a", "b", "zz", None, "a"],
            "y": [0, 1, 0, 1, 0],  # the target is ignored
        }
    )
    report = governance.drift_report(small_model, current, name="m", version=3)
    # x: deciles of 1..10 (0.1 each); now 2/5 in the first, 1/5 in the second and the
    # last, 1/5 missing, nothing in the seven between
    x = term(0.4, 0.1) + 2 * term(0.2, 0.1) + 7 * term(0.0, 0.1) + term(0.2, 0.0)
    # c: a 0.6 -> 0.4, b 0.4 -> 0.2, other 0 -> 0.2 (unseen "zz"), missing 0 -> 0.2
    c = term(0.4, 0.6) + term(0.2, 0.4) + term(0.2, 0.0) + term(0.2, 0.0)
    # score: <= 500 was 0.4 (the b rows), now 0.6; > 500 was 0.6, now 0.4
    score = term(0.6, 0.4) + term(0.4, 0.6)
    assert (report.model, report.version, report.rows) == ("m", 3, 5)
    assert report.score.psi == pytest.approx(score, abs=1e-12)
    assert report.score.band == "watch"
    assert [f.feature for f in report.features] == ["x", "c"]  # worst first
    assert report.features[0].psi == pytest.approx(x, abs=1e-12)
    assert report.features[1].psi == pytest.approx(c, abs=1e-12)
    assert report.status == "act"
    assert report.window_start is None
    shares = {b.label: (b.expected, b.actual) for b in report.features[1].bins}
    assert shares["(other)"] == pytest.approx((0.0, 0.2))
    assert shares["(missing)"] == pytest.approx((0.0, 0.2))
    assert report.to_dict() == {
        "model": "m",
        "version": 3,
        "rows": 5,
        "score": {"psi": report.score.psi, "band": "watch"},
        "features": [
            {"feature": "x", "psi": report.features[0].psi, "band": "act"},
            {"feature": "c", "psi": report.features[1].psi, "band": "act"},
        ],
        "status": "act",
        "window": None,
    }


def test_training_data_gives_zero(small_model: CreditModel) -> None:
    same = pd.DataFrame(
        {"x": np.arange(1.0, 11.0), "c": np.array(["a"] * 6 + ["b"] * 4, dtype=object)}
    )
    report = governance.drift_report(small_model, same, name="m", version=1)
    assert report.score.psi == 0.0
    assert [f.psi for f in report.features] == [0.0, 0.0]
    assert report.status == "stable"


def test_refuses_empty_and_wrong_tables(small_model: CreditModel) -> None:
    with pytest.raises(ValidationError, match="no rows"):
        governance.drift_report(small_model, pd.DataFrame({"x": [], "c": []}), name="m", version=1)
    with pytest.raises(ValidationError, match="missing feature columns"):
        governance.drift_report(small_model, pd.DataFrame({"x": [1.0]}), name="m", version=1)


def test_trained_model_keeps_a_reference(trained: TrainResult, book: LoanBook) -> None:
    model = trained.model
    assert model.reference is not None
    assert [r.name for r in model.reference.features] == list(model.spec.features)
    for ref in model.reference.features:
        assert sum(ref.proportions) == pytest.approx(1.0)
        assert len(ref.labels) == len(ref.proportions)
    assert len(model.reference.score.proportions) == 11
    report = governance.drift_report(model, book.frame, name="pd", version=1)
    assert [f.psi for f in report.features] == [0.0] * len(model.spec.features)
    assert report.score.psi < 1e-3  # scores rounded to cents, as decisions store them
    assert report.status == "stable"


def test_shifted_applicants_are_flagged(trained: TrainResult, book: LoanBook) -> None:
    shifted = book.frame.copy()
    income = next(name for name in trained.model.spec.numeric or () if "income" in name)
    shifted[income] = shifted[income] * 3
    report = governance.drift_report(trained.model, shifted, name="pd", version=1)
    assert report.features[0].feature == income
    assert report.features[0].band == "act"
    assert report.status == "act"


def test_old_pickles_fall_back_to_scores(trained: TrainResult, book: LoanBook) -> None:
    old = copy.copy(trained.model)
    del old.__dict__["reference"]  # as pickled before the reference existed
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.reference is None
    report = governance.drift_report(loaded, book.frame, name="pd", version=1)
    assert report.features == ()
    assert report.score.psi < 1e-3
    decision = credit.decide_row(
        book.frame.iloc[0].to_dict(),
        loaded,
        credit.parse_policy(credit.DEFAULT_POLICY),
        model_name="pd",
        model_version=1,
        policy_version=1,
    )
    assert decision.bins is None


def test_single_and_table_decisions_store_the_same_bins(
    trained: TrainResult, book: LoanBook
) -> None:
    model = trained.model
    assert model.reference is not None
    policy = credit.parse_policy(credit.DEFAULT_POLICY)
    frame = book.frame.head(300).copy()
    frame.loc[frame.index[:5], "region"] = "atlantis"
    frame.loc[frame.index[5:10], "monthly_income"] = None
    versions = {"model_name": "pd", "model_version": 1, "policy_version": 1}
    table = credit.decide(frame, model, policy, **versions)
    expected = model.reference.bin_rows(model.features(frame))
    assert [d.bins for d in table] == expected
    region = next(r for r in model.reference.features if r.name == "region")
    income = next(r for r in model.reference.features if r.name == "monthly_income")
    assert {d.bins["region"] for d in table[:5] if d.bins} == {len(region.categories)}
    assert {d.bins["monthly_income"] for d in table[5:10] if d.bins} == {income.missing}
    for i, row in enumerate(frame.to_dict(orient="records")):
        single = credit.decide_row(row, model, policy, **versions)
        assert single.bins == table[i].bins
    # a value the single-row shortcut leaves to the table path (a number as text)
    text = dict(frame.iloc[20].to_dict(), monthly_income=str(frame.iloc[20]["monthly_income"]))
    assert credit.decide_row(text, model, policy, **versions).bins == table[20].bins


def test_step_valued_scores_are_binned_as_decisions_store_them() -> None:
    # a calibrated model's scores come in steps; decisions keep them to two decimals
    steps = np.repeat([533.5614381, 535.6128327, 561.8066463, 568.3830721], [300, 200, 400, 100])
    spec = DatasetSpec(target="y", numeric=("x",), categorical=())
    reference = DriftReference.from_training(pd.DataFrame({"x": np.arange(1000.0)}), spec, steps)
    stored = np.round(steps, 2)
    shares = np.bincount(
        reference.score.bin_array(stored), minlength=len(reference.score.proportions)
    )
    assert governance.psi(reference.score.proportions, shares / shares.sum()) == 0.0
