"""Fraud estimators: scikit-learn citizens that rank fraud well and explain their scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from finai.exceptions import ValidationError
from finai.fraud.features import FEATURE_NAMES, FeatureConfig, offline_features
from finai.fraud.models import (
    GBMFraudModel,
    IsolationFraudModel,
    LogisticFraudModel,
    build,
)
from finai.fraud.windows import Window
from tests.fraud.simulations import TEST_END, TEST_START, history


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    """Features of the simulation; fit on April, test on the second half of May."""
    frame = history()
    features = offline_features(frame, FeatureConfig())
    fit = Window.parse("2026-04-01", "2026-04-30").contains(frame["timestamp"])
    test = Window.parse(TEST_START, TEST_END).contains(frame["timestamp"])
    y = frame["is_fraud"].to_numpy()
    return {"X": features, "y": y, "fit": fit, "test": test}


def test_lightgbm_ranks_fraud_far_better_than_chance(data: dict[str, Any]) -> None:
    X, y, fit, test = data["X"], data["y"], data["fit"], data["test"]
    model = GBMFraudModel(random_state=0).fit(X[fit], y[fit])
    scores = model.fraud_score(X[test])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert roc_auc_score(y[test], scores) > 0.75
    # A random ranking's average precision is the fraud rate (about 1 %).
    assert average_precision_score(y[test], scores) > 10 * y[test].mean()
    assert model.best_iteration_ == 500 and model.scale_pos_weight_ > 1


def test_lightgbm_stops_early_on_a_later_period(data: dict[str, Any]) -> None:
    X, y, fit, test = data["X"], data["y"], data["fit"], data["test"]
    model = GBMFraudModel(random_state=0, early_stopping_rounds=10)
    model.fit(X[fit], y[fit], eval_set=(X[test], y[test]))
    assert model.best_iteration_ < 500
    with pytest.raises(ValidationError, match="both classes"):
        model.fit(X[fit], y[fit], eval_set=(X[test], np.zeros(int(test.sum()))))


def test_lightgbm_contributions_add_up_to_the_log_odds(data: dict[str, Any]) -> None:
    X, y, fit = data["X"], data["y"], data["fit"]
    model = GBMFraudModel(n_estimators=30, random_state=0).fit(X[fit], y[fit])
    rows = X[fit].head(50)
    contributions = model.contributions(rows)
    assert contributions.shape == (50, len(FEATURE_NAMES))
    bias = model.booster_.predict(rows.to_numpy(), pred_contrib=True)[:, -1]
    np.testing.assert_allclose(
        contributions.sum(axis=1) + bias, logit(model.fraud_score(rows)), rtol=1e-6
    )


def test_logistic_contributions_are_coefficient_times_standardised_value(
    data: dict[str, Any],
) -> None:
    X, y, fit = data["X"], data["y"], data["fit"]
    model = LogisticFraudModel().fit(X[fit], y[fit])
    rows = X[fit].head(50)
    contributions = model.contributions(rows)
    standardised = (rows - X[fit].mean()) / X[fit].std(ddof=0).replace(0, 1)
    np.testing.assert_allclose(
        contributions, standardised.to_numpy() * model.logistic_.coef_[0], atol=1e-9
    )
    np.testing.assert_allclose(
        contributions.sum(axis=1) + model.logistic_.intercept_[0],
        logit(model.fraud_score(rows)),
        rtol=1e-9,
    )


def test_isolation_forest_needs_no_labels(data: dict[str, Any]) -> None:
    X, y, fit, test = data["X"], data["y"], data["fit"], data["test"]
    model = IsolationFraudModel(random_state=0).fit(X[fit])
    scores = model.fraud_score(X[test])
    assert ((scores > 0) & (scores <= 1)).all()
    assert roc_auc_score(y[test], scores) > 0.6
    proxy = model.contributions(X[test])
    assert (proxy >= 0).all()
    # The proxy is the distance from the median in interquartile ranges.
    median = X[fit]["amount"].median()
    spread = X[fit]["amount"].quantile(0.75) - X[fit]["amount"].quantile(0.25)
    np.testing.assert_allclose(proxy[:, 0], (X[test]["amount"] - median).abs() / spread, rtol=1e-9)


def test_supervised_models_refuse_one_class(data: dict[str, Any]) -> None:
    X, fit = data["X"], data["fit"]
    for model in (GBMFraudModel(), LogisticFraudModel()):
        with pytest.raises(ValidationError, match="got 1 class") as caught:
            model.fit(X[fit], np.zeros(int(fit.sum())))
        assert caught.value.field == "is_fraud"


def test_build_knows_the_three_algorithms() -> None:
    assert isinstance(build("lightgbm", 3), GBMFraudModel)
    assert isinstance(build("logistic", 3), LogisticFraudModel)
    assert isinstance(build("isolation_forest", 3), IsolationFraudModel)
    with pytest.raises(ValidationError, match="unknown model 'forest'") as caught:
        build("forest", 3)
    assert caught.value.field == "model"


def test_features_frame_columns_must_match_at_predict(data: dict[str, Any]) -> None:
    X, y, fit = data["X"], data["y"], data["fit"]
    model = LogisticFraudModel().fit(X[fit], y[fit])
    with pytest.raises(ValueError, match="feature names"):
        model.fraud_score(X[fit].iloc[:5, ::-1])
    assert isinstance(X, pd.DataFrame)


@parametrize_with_checks(
    [
        GBMFraudModel(n_estimators=20, min_child_samples=2),
        LogisticFraudModel(),
        IsolationFraudModel(n_estimators=20),
    ]
)
def test_scikit_learn_conventions(estimator: Any, check: Any) -> None:
    check(estimator)
