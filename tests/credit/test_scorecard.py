"""ScorecardModel: points that add up, PDs that match the score, a readable table.

Also home of the credit test data shared with ``test_gbm.py`` and ``test_reasons.py``:
a seeded synthetic book with a known true PD, and the German credit file.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from finai.credit.scaling import ScoreScaling
from finai.credit.scorecard import ScorecardModel, fit_frame
from finai.exceptions import ValidationError

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
GERMAN = Path("/work/shared/data/credit/german/german.data")
GERMAN_COLUMNS = [
    "checking_status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "employment", "installment_rate", "personal_status", "other_debtors", "residence_since",
    "property", "age", "other_installment_plans", "housing", "existing_credits", "job",
    "num_dependents", "telephone", "foreign_worker",
]  # fmt: skip
GERMAN_NUMERIC = {
    "duration", "credit_amount", "installment_rate", "residence_since", "age",
    "existing_credits", "num_dependents",
}  # fmt: skip
REGION_EFFECT = {"north": -0.3, "south": 0.0, "east": 0.4, "west": 0.8}
FEATURES = ["income", "dti", "age", "utilization", "region"]


def make_synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A loan book whose true PD is known: logistic in five features, with gaps.

    ``income`` falls with risk, ``dti`` and ``utilization`` rise with it, ``age`` falls
    slightly; ``region`` is a ``str`` category; income and region are 5 % missing.
    Returns features, the 0/1 outcome (1 = bad) and the true PD.
    """
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.0, 0.5, n)
    dti = rng.uniform(0.0, 0.6, n)
    age = rng.uniform(18.0, 75.0, n)
    utilization = rng.beta(2.0, 3.0, n)
    region = rng.choice(list(REGION_EFFECT), n, p=[0.4, 0.3, 0.2, 0.1])
    logit = (
        -2.2
        - 1.6 * (np.log(income) - 10.0)
        + 3.0 * (dti - 0.3)
        - 0.02 * (age - 45.0)
        + 2.0 * (utilization - 0.4)
        + np.array([REGION_EFFECT[r] for r in region])
    )
    true_pd = 1.0 / (1.0 + np.exp(-logit))
    y = (rng.random(n) < true_pd).astype(int)
    X = pd.DataFrame(
        {"income": income, "dti": dti, "age": age, "utilization": utilization, "region": region}
    )
    X.loc[rng.random(n) < 0.05, "income"] = np.nan
    X.loc[rng.random(n) < 0.05, "region"] = np.nan
    return X, y, true_pd


def german_data() -> tuple[pd.DataFrame, np.ndarray]:
    """The German credit file: codes like ``A11`` as categories, y = 1 for bad (2 in the file)."""
    if not GERMAN.exists():
        if IN_CI:
            pytest.fail(f"German credit data is required in CI: {GERMAN} is absent")
        pytest.skip(f"German credit data not found at {GERMAN}")
    raw = pd.read_csv(GERMAN, sep=" ", header=None, names=[*GERMAN_COLUMNS, "target"])
    X = raw[GERMAN_COLUMNS].copy()
    for name in GERMAN_COLUMNS:
        X[name] = X[name].astype("float64" if name in GERMAN_NUMERIC else "category")
    return X, (raw["target"] == 2).astype(int).to_numpy()


@pytest.fixture(scope="module")
def book() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
    X, y, _ = make_synthetic(5000, seed=0)
    X_test, y_test, pd_test = make_synthetic(5000, seed=1)
    return X, y, X_test, y_test, pd_test


@pytest.fixture(scope="module")
def model(book: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]):
    X, y, *_ = book
    return ScorecardModel(random_state=0).fit(X, y)


def test_auc_is_near_the_oracle(model, book) -> None:
    _, _, X_test, y_test, pd_test = book
    oracle = roc_auc_score(y_test, pd_test)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    assert auc >= oracle - 0.03, (auc, oracle)


def test_points_add_up_to_the_score_exactly(model, book) -> None:
    X_test = book[2]
    points = model.points(X_test)
    assert list(points.columns) == FEATURES
    assert points.index.equals(X_test.index)
    np.testing.assert_allclose(
        points.sum(axis=1).to_numpy(), model.credit_score(X_test), rtol=0, atol=1e-6
    )


def test_pd_is_read_from_the_score(model, book) -> None:
    X_test = book[2]
    score = model.credit_score(X_test)
    pd_bad = model.predict_proba(X_test)[:, 1]
    scaling = ScoreScaling(600, 50, 20)
    np.testing.assert_allclose(pd_bad, scaling.pd_from_score(score), rtol=0, atol=1e-12)
    np.testing.assert_allclose(scaling.score_from_pd(pd_bad), score, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.predict_proba(X_test).sum(axis=1), 1.0)
    assert set(model.predict(X_test)) <= {0, 1}


def test_score_scaling_rule() -> None:
    scaling = ScoreScaling(base_score=600, base_odds=50, pdo=20)
    assert scaling.factor == pytest.approx(20 / np.log(2))
    assert scaling.offset == pytest.approx(600 - scaling.factor * np.log(50))
    assert scaling.score_from_pd(1 / 51) == pytest.approx(600)  # odds of good 50:1
    assert scaling.score_from_pd(1 / 101) == pytest.approx(620)  # odds doubled: +pdo
    grid = np.linspace(0.001, 0.999, 999)
    np.testing.assert_allclose(scaling.pd_from_score(scaling.score_from_pd(grid)), grid)
    assert np.all(np.diff(scaling.score_from_pd(grid)) < 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"pdo": 0}, "pdo"), ({"base_odds": 0}, "base_odds"), ({"base_score": np.inf}, "base_score")],
)
def test_score_scaling_refuses_bad_values(kwargs, field) -> None:
    with pytest.raises(ValidationError) as caught:
        ScoreScaling(**kwargs)
    assert caught.value.field == field
    with pytest.raises(ValidationError, match=r"\[0, 1\]"):
        ScoreScaling().score_from_pd([0.5, 1.2])


def test_pd_equals_logistic_regression_on_optbinning_woe(model, book) -> None:
    X = book[0].head(500)
    _, frame = fit_frame(X)
    woe = model.binning_process_.transform(frame, metric="woe", metric_missing="empirical")
    expected = model.logistic_.predict_proba(woe[FEATURES].to_numpy())[:, 1]
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], expected, rtol=0, atol=1e-9)


def test_points_follow_the_scaling_rule(book) -> None:
    X, y, X_test, *_ = book
    low = ScorecardModel(pdo=20).fit(X, y)
    high = ScorecardModel(pdo=40, base_score=500).fit(X, y)
    # Doubling pdo doubles every distance from the 1:1 odds point.
    offset_low = ScoreScaling(600, 50, 20).offset
    offset_high = ScoreScaling(500, 50, 40).offset
    np.testing.assert_allclose(
        high.credit_score(X_test) - offset_high,
        2 * (low.credit_score(X_test) - offset_low),
        atol=1e-6,
    )


def test_table_is_what_a_committee_reads(model, book) -> None:
    X, y = book[0], book[1]
    table = model.table()
    assert list(table.columns) == [
        "characteristic", "bin", "count", "count_share", "bads", "event_rate",
        "woe", "iv", "coefficient", "points",
    ]  # fmt: skip
    assert list(table["characteristic"].unique()) == FEATURES
    for _, rows in table.groupby("characteristic"):
        assert rows["count"].sum() == len(X)
        assert rows["bads"].sum() == y.sum()
        assert rows["bin"].iloc[-1] == "Missing"
    region = table[table["characteristic"] == "region"].set_index("bin")
    assert region.loc["Missing", "count"] == X["region"].isna().sum()
    # A bad rate that rises across the dti bins, and points that fall with it.
    dti = table[(table["characteristic"] == "dti") & (table["count"] > 0)]
    assert dti["event_rate"].is_monotonic_increasing
    assert dti["points"].is_monotonic_decreasing
    # The points of a row are the table's points of its bins.
    row = model.points(X.head(1)).iloc[0]
    for name in FEATURES:
        assert row[name] in set(table.loc[table["characteristic"] == name, "points"])


def test_information_values(model) -> None:
    iv = model.information_values()
    assert set(iv.index) == set(FEATURES)
    assert iv.is_monotonic_decreasing
    assert iv.index[0] == "income"
    assert (iv > 0).all()


def test_selection_criteria_drop_weak_characteristics(book) -> None:
    X, y = book[0].copy(), book[1]
    X["noise"] = np.random.default_rng(7).normal(size=len(X))
    model = ScorecardModel(selection_criteria={"iv": {"min": 0.02}}).fit(X, y)
    assert "noise" not in model.points(X.head(3)).columns
    assert "noise" in model.information_values().index
    assert model.predict_proba(X.head(3)).shape == (3, 2)
    with pytest.raises(ValidationError, match="selection criteria"):
        ScorecardModel(selection_criteria={"iv": {"min": 10.0}}).fit(X, y)


def test_unseen_categories_and_empty_rows_score_as_missing(model, book) -> None:
    X_test = book[2]
    rows = X_test.head(3).copy()
    rows["region"] = ["atlantis", np.nan, "north"]
    empty = pd.DataFrame({name: [np.nan] for name in FEATURES})
    pd_bad = model.predict_proba(rows)[:, 1]
    assert np.isfinite(pd_bad).all()
    points = model.points(rows)
    unseen = rows.iloc[[0]].assign(region=np.nan)
    assert points["region"].iloc[0] == model.points(unseen)["region"].iloc[0]
    assert np.isfinite(model.predict_proba(empty)).all()
    assert np.isfinite(model.credit_score(empty)).all()


def test_category_dtype_scores_like_text(model, book) -> None:
    X_test = book[2].head(200)
    as_category = X_test.assign(region=X_test["region"].astype("category"))
    as_object = X_test.assign(region=X_test["region"].astype(object))
    expected = model.predict_proba(X_test)
    np.testing.assert_array_equal(model.predict_proba(as_category), expected)
    np.testing.assert_array_equal(model.predict_proba(as_object), expected)


def test_missing_column_is_refused_by_name(model, book) -> None:
    X_test = book[2].drop(columns="dti")
    with pytest.raises(ValidationError, match="dti") as caught:
        model.predict_proba(X_test)
    assert caught.value.field == "dti"


def test_columns_are_selected_by_name(model, book) -> None:
    X_test = book[2].head(100)
    shuffled = X_test[FEATURES[::-1]].assign(applicant_id=range(100))
    np.testing.assert_array_equal(model.predict_proba(shuffled), model.predict_proba(X_test))


def test_numeric_text_is_refused(model, book) -> None:
    X_test = book[2].head(3).astype({"dti": object})
    X_test.loc[X_test.index[0], "dti"] = "lots"
    with pytest.raises(ValidationError, match="dti"):
        model.predict_proba(X_test)


def test_clone_and_refit_give_identical_predictions(model, book) -> None:
    X, y, X_test, *_ = book
    twin = clone(model).fit(X, y)
    assert twin.random_state == model.random_state == 0
    np.testing.assert_array_equal(twin.predict_proba(X_test), model.predict_proba(X_test))


def test_pickle_round_trip(model, book) -> None:
    X_test = book[2]
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X_test), model.predict_proba(X_test))
    pd.testing.assert_frame_equal(restored.table(), model.table())


def test_numpy_input_names_columns(book) -> None:
    X, y, *_ = book
    numeric = X[["income", "dti", "utilization"]].to_numpy()
    model = ScorecardModel().fit(numeric, y)
    assert not hasattr(model, "feature_names_in_")
    assert model.n_features_in_ == 3
    assert list(model.points(numeric[:2]).columns) == ["x0", "x1", "x2"]


def test_cross_validation(book) -> None:
    X, y = book[0].head(2000), book[1][:2000]
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(ScorecardModel(), X, y, cv=folds, scoring="roc_auc")
    assert scores.min() > 0.7


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pdo": 0}, "pdo"),
        ({"base_odds": -1}, "base_odds"),
        ({"C": 0.0}, "C"),
        ({"min_bin_size": 0.9}, "min_bin_size"),
        ({"max_n_bins": 1}, "max_n_bins"),
    ],
)
def test_bad_parameters_are_refused(params, field, book) -> None:
    X, y = book[0].head(300), book[1][:300]
    with pytest.raises(ValidationError) as caught:
        ScorecardModel(**params).fit(X, y)
    assert caught.value.field == field


def test_one_class_is_refused(book) -> None:
    with pytest.raises(ValidationError, match="2 classes"):
        ScorecardModel().fit(book[0].head(50), np.zeros(50, dtype=int))


def test_german_credit_cross_validated_auc() -> None:
    X, y = german_data()
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = cross_val_score(ScorecardModel(random_state=0), X, y, cv=folds, scoring="roc_auc")
    assert scores.mean() > 0.76, scores


@parametrize_with_checks([ScorecardModel()])
def test_scikit_learn_conventions(estimator, check) -> None:
    check(estimator)
