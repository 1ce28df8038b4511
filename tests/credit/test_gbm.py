"""GBMModel: calibrated PDs, monotone where declared, contributions that add up."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from finai.credit.gbm import GBMModel, monotone_trend
from finai.credit.scaling import ScoreScaling
from finai.exceptions import ValidationError
from tests.credit.test_scorecard import FEATURES, german_data, make_synthetic


@pytest.fixture(scope="module")
def book() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
    X, y, _ = make_synthetic(5000, seed=0)
    X_test, y_test, pd_test = make_synthetic(5000, seed=1)
    return X, y, X_test, y_test, pd_test


@pytest.fixture(scope="module")
def model(book) -> GBMModel:
    X, y, *_ = book
    return GBMModel(random_state=0).fit(X, y)


def test_auc_is_near_the_oracle(model, book) -> None:
    _, _, X_test, y_test, pd_test = book
    oracle = roc_auc_score(y_test, pd_test)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    assert auc >= oracle - 0.03, (auc, oracle)


def test_contributions_and_bias_add_up_to_the_raw_margin(model, book) -> None:
    X_test = book[2].head(1000)
    contributions, bias = model.contributions(X_test)
    assert list(contributions.columns) == FEATURES
    assert contributions.index.equals(X_test.index)
    np.testing.assert_allclose(
        contributions.sum(axis=1).to_numpy() + bias, model.raw_margin(X_test), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibration_makes_pd_a_probability(method, model, book) -> None:
    X, y, X_test, y_test, _ = book
    if method == "isotonic":
        fitted = model
    else:
        fitted = GBMModel(calibration=method, random_state=0).fit(X, y)
    pd_bad = fitted.predict_proba(X_test)[:, 1]
    uncalibrated = expit(fitted.raw_margin(X_test))
    assert brier_score_loss(y_test, pd_bad) <= brier_score_loss(y_test, uncalibrated)
    assert abs(pd_bad.mean() - y_test.mean()) <= 0.02
    assert ((pd_bad > 0) & (pd_bad < 1)).all()


def test_score_and_pd_agree(model, book) -> None:
    X_test = book[2]
    pd_bad = model.predict_proba(X_test)[:, 1]
    score = model.credit_score(X_test)
    np.testing.assert_allclose(ScoreScaling().pd_from_score(score), pd_bad, rtol=0, atol=1e-9)
    assert np.isfinite(score).all()
    assert set(model.predict(X_test)) <= {0, 1}


def test_declared_monotone_constraints_hold(book) -> None:
    X, y, X_test, *_ = book
    model = GBMModel(monotone={"dti": 1, "income": -1}, random_state=0).fit(X, y)
    assert model.monotone_ == {"dti": 1, "income": -1}
    base = X_test.head(20).reset_index(drop=True)
    for name, grid, sign in [
        ("dti", np.linspace(0.0, 0.6, 61), 1),
        ("income", np.geomspace(5_000, 100_000, 61), -1),
    ]:
        for _, row in base.iterrows():
            along = pd.DataFrame([row.to_dict()] * len(grid)).assign(**{name: grid})
            along = along.astype({f: "float64" for f in FEATURES if f != "region"})
            steps = np.diff(model.predict_proba(along)[:, 1]) * sign
            assert (steps >= -1e-12).all(), name
            assert (np.diff(model.raw_margin(along)) * sign >= -1e-12).all(), name


def test_auto_monotone_finds_the_true_trends(model) -> None:
    assert model.monotone_ == {"income": -1, "dti": 1, "age": -1, "utilization": 1}


def test_monotone_trend_is_none_for_a_valley() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 4000)
    y = (rng.random(4000) < expit(-2 + 3 * x**2)).astype(int)
    assert monotone_trend(x, y) == 0
    assert monotone_trend(x, (rng.random(4000) < expit(-1 + 2 * x)).astype(int)) == 1
    assert monotone_trend(-x, (rng.random(4000) < expit(-1 + 2 * x)).astype(int)) == -1
    assert monotone_trend(np.full(100, np.nan), np.r_[np.zeros(50), np.ones(50)]) == 0


@pytest.mark.parametrize(
    ("monotone", "match"),
    [
        ({"region": 1}, "categorical"),
        ({"salary": 1}, "unknown"),
        ({"dti": 2}, "-1, 0 or"),
        ("up", "auto"),
    ],
)
def test_bad_monotone_is_refused(monotone, match, book) -> None:
    X, y = book[0].head(500), book[1][:500]
    with pytest.raises(ValidationError, match=match) as caught:
        GBMModel(monotone=monotone, n_estimators=5).fit(X, y)
    assert caught.value.field == "monotone"


def test_unseen_categories_and_empty_rows_give_finite_pds(model, book) -> None:
    rows = book[2].head(3).copy()
    rows["region"] = ["atlantis", np.nan, "north"]
    pd_bad = model.predict_proba(rows)[:, 1]
    assert np.isfinite(pd_bad).all()
    # An unseen category takes the missing-value path.
    assert pd_bad[0] == model.predict_proba(rows.iloc[[0]].assign(region=np.nan))[0, 1]
    empty = pd.DataFrame({name: [np.nan, np.nan] for name in FEATURES})
    assert np.isfinite(model.predict_proba(empty)).all()
    assert np.isfinite(model.credit_score(empty)).all()
    assert len(model.reasons(empty)) == 2


def test_category_dtype_scores_like_text(model, book) -> None:
    X_test = book[2].head(200)
    as_category = X_test.assign(region=X_test["region"].astype("category"))
    np.testing.assert_array_equal(model.predict_proba(as_category), model.predict_proba(X_test))


def test_missing_column_is_refused_by_name(model, book) -> None:
    with pytest.raises(ValidationError, match="utilization") as caught:
        model.contributions(book[2].drop(columns="utilization"))
    assert caught.value.field == "utilization"


def test_clone_and_refit_give_identical_predictions(model, book) -> None:
    X, y, X_test, *_ = book
    twin = clone(model).fit(X, y)
    assert twin.random_state == 0 and twin.seed_ == model.seed_ == 0
    np.testing.assert_array_equal(twin.predict_proba(X_test), model.predict_proba(X_test))
    np.testing.assert_array_equal(twin.contributions(X_test)[0], model.contributions(X_test)[0])


def test_seed_is_recorded_without_random_state(book) -> None:
    X, y = book[0].head(1000), book[1][:1000]
    fitted = GBMModel(n_estimators=20).fit(X, y)
    assert fitted.random_state is None
    assert isinstance(fitted.seed_, int)
    replay = GBMModel(n_estimators=20, random_state=fitted.seed_).fit(X, y)
    np.testing.assert_array_equal(replay.predict_proba(X), fitted.predict_proba(X))


def test_pickle_round_trip(model, book) -> None:
    X_test = book[2]
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X_test), model.predict_proba(X_test))
    np.testing.assert_array_equal(restored.raw_margin(X_test), model.raw_margin(X_test))


def test_feature_importance(model) -> None:
    table = model.feature_importance()
    assert list(table.columns) == ["gain", "gain_share", "mean_abs_contribution"]
    assert set(table.index) == set(FEATURES)
    assert table["gain"].is_monotonic_decreasing
    assert table["gain_share"].sum() == pytest.approx(1.0)
    assert table.index[0] == "income"
    assert (table["mean_abs_contribution"] > 0).all()


def test_early_stopping_and_refit_are_recorded(model) -> None:
    assert 1 <= model.best_iteration_ < 1000
    assert model.n_estimators_ == round(model.best_iteration_ * 4000 / 3000)
    assert model.booster_.current_iteration() == model.n_estimators_


def test_too_few_rows_are_refused() -> None:
    X = pd.DataFrame({"x": np.arange(6.0)})
    with pytest.raises(ValidationError, match="too few rows"):
        GBMModel().fit(X, [0, 0, 0, 0, 0, 1])


def test_cross_validation(book) -> None:
    X, y = book[0].head(2000), book[1][:2000]
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(GBMModel(random_state=0), X, y, cv=folds, scoring="roc_auc")
    assert scores.min() > 0.65


def test_german_credit_cross_validated_auc() -> None:
    X, y = german_data()
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = cross_val_score(GBMModel(random_state=0), X, y, cv=folds, scoring="roc_auc")
    assert scores.mean() > 0.75, scores


@parametrize_with_checks([GBMModel(n_estimators=50)])
def test_scikit_learn_conventions(estimator, check) -> None:
    check(estimator)
