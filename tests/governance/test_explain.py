"""Global and local explanations, checked against LightGBM's, optbinning's and hand-made numbers."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from finai import credit, fraud
from finai.credit.scorecard import quiet_optbinning
from finai.credit.training import TrainResult
from finai.datasets import LoanBook
from finai.exceptions import ValidationError
from finai.governance import (
    Explanation,
    decision_waterfall,
    explain_credit,
    explain_fraud,
)
from tests.fraud.simulations import history
from tests.fraud.simulations import trained as trained_fraud

POLICY = credit.parse_policy(credit.DEFAULT_POLICY)


@pytest.fixture(scope="module")
def gbm(book: LoanBook) -> TrainResult:
    return credit.train(book.frame, book.spec, algorithm="gbm", seed=3, folds=2)


@pytest.fixture(scope="module")
def scorecard(book: LoanBook) -> TrainResult:
    return credit.train(book.frame, book.spec, algorithm="scorecard", seed=3, folds=2)


def booster_frame(estimator: credit.GBMModel, features: pd.DataFrame) -> pd.DataFrame:
    """What LightGBM reads: categories fixed at fit, unseen ones missing."""
    columns = {}
    for i, name in enumerate(estimator.schema_.names):
        if name in estimator.schema_.categorical:
            columns[f"f{i}"] = pd.Categorical(
                features[name].to_numpy(dtype=object), categories=estimator.categories_[name]
            )
        else:
            columns[f"f{i}"] = features[name].to_numpy(dtype=np.float64)
    return pd.DataFrame(columns)


# -- gradient boosting --------------------------------------------------------------------


def test_gbm_gain_and_contributions_are_lightgbm_numbers(gbm: TrainResult, book: LoanBook) -> None:
    model = gbm.model
    estimator = model.estimator
    assert isinstance(estimator, credit.GBMModel)
    table = book.frame.head(400)
    explained = explain_credit(model, table, model_ref="pd:1")
    names = list(estimator.schema_.names)
    gain = estimator.booster_.feature_importance(
        importance_type="gain", iteration=estimator.n_estimators_
    )
    by_name = {f.feature: f for f in explained.importance}
    assert set(by_name) == set(names)
    for i, name in enumerate(names):
        assert by_name[name].gain == pytest.approx(gain[i], rel=1e-12)
        assert by_name[name].gain_share == pytest.approx(gain[i] / gain.sum())
    gains = [f.gain for f in explained.importance]
    assert gains == sorted(gains, reverse=True)
    contributions = estimator.booster_.predict(
        booster_frame(estimator, model.features(table)),
        pred_contrib=True,
        num_iteration=estimator.n_estimators_,
    )
    mean_abs = np.abs(contributions[:, :-1]).mean(axis=0)
    for i, name in enumerate(names):
        assert by_name[name].mean_abs_contribution == pytest.approx(mean_abs[i], rel=1e-9)
    assert explained.sample_rows == 400
    assert (explained.model, explained.algorithm, explained.kind) == ("pd:1", "gbm", credit.KIND)


def test_gbm_without_a_table_uses_what_the_model_keeps(gbm: TrainResult) -> None:
    estimator = gbm.model.estimator
    assert isinstance(estimator, credit.GBMModel)
    explained = explain_credit(gbm.model, top=3, grid=7)
    assert explained.sample_rows is None
    for f in explained.importance:
        assert f.mean_abs_contribution == pytest.approx(estimator.mean_abs_contribution_[f.feature])
    top = [f.feature for f in explained.importance[:3]]
    assert [c.feature for c in explained.partial_dependence] == top
    for curve in explained.partial_dependence:
        assert curve.method == "recursion"
        assert curve.unit == "log-odds of bad"
        assert len(curve.grid) == len(curve.average)
        if curve.categorical:
            assert list(curve.grid) == estimator.categories_[curve.feature]
        else:
            assert len(curve.grid) == 7


def test_partial_dependence_of_a_table_averages_the_pd(gbm: TrainResult, book: LoanBook) -> None:
    model = gbm.model
    table = book.frame.head(300)
    explained = explain_credit(model, table, top=20, grid=3)
    features = model.features(table)
    kinds = {curve.categorical for curve in explained.partial_dependence}
    assert kinds == {True, False}  # numbers and categories alike
    for curve in explained.partial_dependence:
        assert curve.method == "brute" and curve.unit == "PD"
        for value, average in zip(curve.grid, curve.average, strict=True):
            changed = features.copy()
            changed[curve.feature] = value
            assert average == pytest.approx(model.predict_pd(changed).mean(), rel=1e-9)


def product_design() -> tuple[pd.DataFrame, np.ndarray]:
    """Every combination of two features equally often: they are exactly independent."""
    rng = np.random.default_rng(5)
    x1, x2 = np.meshgrid(np.arange(10.0), np.arange(10.0))
    grid = pd.DataFrame({"x1": x1.ravel(), "x2": x2.ravel()})
    table = pd.concat([grid] * 20, ignore_index=True)
    logit = 0.4 * (table["x1"] - 5) - 0.3 * (table["x2"] - 4) + 0.05 * table["x1"] * table["x2"]
    y = (rng.random(len(table)) < 1 / (1 + np.exp(-logit))).astype(int)
    return table, y


def test_recursion_equals_brute_force_on_independent_training_rows() -> None:
    table, y = product_design()
    estimator = fraud.models.GBMFraudModel(
        n_estimators=40, num_leaves=6, min_child_samples=20, subsample=1.0, colsample_bytree=1.0,
        random_state=1,
    ).fit(table, y)  # fmt: skip
    model = dataclasses.replace(
        trained_fraud().model, estimator=estimator, feature_names=("x1", "x2")
    )
    explained = explain_fraud(model, grid=10)
    assert [f.mean_abs_contribution for f in explained.importance] == [None, None]
    assert len(explained.partial_dependence) == 2
    for curve in explained.partial_dependence:
        assert curve.method == "recursion" and curve.unit == "log-odds of fraud"
        assert list(curve.grid) == [float(v) for v in range(10)]
        for value, average in zip(curve.grid, curve.average, strict=True):
            changed = table.assign(**{curve.feature: value}).to_numpy()
            brute = estimator.booster_.predict(changed, raw_score=True).mean()
            assert average == pytest.approx(brute, abs=1e-9)


def test_fraud_explanation_matches_lightgbm() -> None:
    result = trained_fraud()
    model = result.model
    estimator = model.estimator
    assert isinstance(estimator, fraud.models.GBMFraudModel)
    sample = model.features(history()).iloc[2_000:2_500]
    explained = explain_fraud(model, sample, top=2, grid=4, model_ref="fraud:1")
    matrix = sample.loc[:, list(model.feature_names)].to_numpy(dtype=np.float64)
    rounds = estimator.best_iteration_
    gain = estimator.booster_.feature_importance(importance_type="gain", iteration=rounds)
    contributions = estimator.booster_.predict(matrix, pred_contrib=True, num_iteration=rounds)
    by_name = {f.feature: f for f in explained.importance}
    for i, name in enumerate(model.feature_names):
        assert by_name[name].gain == pytest.approx(gain[i])
        assert by_name[name].mean_abs_contribution == pytest.approx(
            np.abs(contributions[:, i]).mean(), rel=1e-9
        )
    assert [c.unit for c in explained.partial_dependence] == ["fraud score"] * 2
    assert explained.to_dict()["kind"] == fraud.KIND


def test_other_fraud_algorithms_are_refused() -> None:
    model = trained_fraud("logistic").model
    with pytest.raises(ValidationError, match="LightGBM"):
        explain_fraud(model)


def test_settings_are_checked(gbm: TrainResult) -> None:
    with pytest.raises(ValidationError) as top:
        explain_credit(gbm.model, top=0)
    assert top.value.field == "top"
    with pytest.raises(ValidationError) as grid:
        explain_credit(gbm.model, grid=1)
    assert grid.value.field == "grid"


# -- scorecard ----------------------------------------------------------------------------


def test_scorecard_information_values_are_optbinnings(scorecard: TrainResult) -> None:
    estimator = scorecard.model.estimator
    assert isinstance(estimator, credit.ScorecardModel)
    explained = explain_credit(scorecard.model)
    assert explained.importance == ()
    process = estimator.binning_process_
    values = {v.feature: v for v in explained.information_values}
    assert set(values) == set(estimator.schema_.names)
    for name, value in values.items():
        optb = process.get_binned_variable(name)
        with quiet_optbinning():
            optb.binning_table.build()
        assert value.iv == pytest.approx(optb.binning_table.iv, rel=1e-9)
    ivs = [v.iv for v in explained.information_values]
    assert ivs == sorted(ivs, reverse=True)
    scored = {c.name: c for c in estimator.characteristics_}
    for name, value in values.items():
        assert value.scored == (name in scored)
        if value.scored:
            assert [b.bin for b in value.bins] == scored[name].labels
            assert [b.points for b in value.bins] == pytest.approx(list(scored[name].points))
        else:
            assert value.bins == ()


def test_scorecard_partial_dependence_is_exact_from_points(
    scorecard: TrainResult, book: LoanBook
) -> None:
    estimator = scorecard.model.estimator
    assert isinstance(estimator, credit.ScorecardModel)
    explained = explain_credit(scorecard.model, top=2)
    points = estimator.points(scorecard.model.features(book.frame))
    for curve in explained.partial_dependence:
        assert (curve.method, curve.unit) == ("points", "score points")
        characteristic = next(c for c in estimator.characteristics_ if c.name == curve.feature)
        rest = points.drop(columns=curve.feature).sum(axis=1).mean()
        seen = [b for b in range(len(characteristic.labels)) if characteristic.count[b] > 0]
        assert list(curve.grid) == [characteristic.labels[b] for b in seen]
        expected = [characteristic.points[b] + rest for b in seen]
        assert list(curve.average) == pytest.approx(expected, rel=1e-9)


# -- waterfalls ---------------------------------------------------------------------------


def decisions(result: TrainResult, book: LoanBook) -> list[credit.Decision]:
    return credit.decide(
        book.frame.head(60), result.model, POLICY, model_name="pd", model_version=1,
        policy_version=1,
    )  # fmt: skip


def test_scorecard_waterfall_adds_up_to_the_score(scorecard: TrainResult, book: LoanBook) -> None:
    estimator = scorecard.model.estimator
    assert isinstance(estimator, credit.ScorecardModel)
    best = sum(float(c.points[c.count > 0].max()) for c in estimator.characteristics_)
    for decision in decisions(scorecard, book):
        waterfall = decision_waterfall(decision, scorecard.model)
        steps = waterfall.steps
        assert waterfall.unit == "score points"
        assert steps[0].measure == "absolute" and steps[0].value == pytest.approx(best)
        assert steps[-1].measure == "total" and steps[-1].value == decision.score
        assert steps[0].value + sum(s.value for s in steps[1:-1]) == pytest.approx(decision.score)
        model_reasons = [r for r in decision.reasons if r.contribution > 0]
        assert [s.value for s in steps[1:-2]] == [-r.contribution for r in model_reasons]
        # the others cannot beat their best bins; the stored score is rounded to 0.01
        assert steps[-2].value <= 0.005 + 1e-9


def test_gbm_waterfall_starts_at_the_treeshap_base(gbm: TrainResult, book: LoanBook) -> None:
    model = gbm.model
    estimator = model.estimator
    assert isinstance(estimator, credit.GBMModel)
    table = book.frame.head(60)
    contributions, bias = estimator.contributions(model.features(table))
    margin = estimator.raw_margin(model.features(table))
    for i, decision in enumerate(decisions(gbm, book)):
        waterfall = decision_waterfall(decision, model)
        steps = waterfall.steps
        assert waterfall.unit == "log-odds of bad"
        assert steps[0].value == pytest.approx(bias[i], abs=1e-9)
        logit = math.log(decision.pd / (1 - decision.pd))
        assert steps[-1].value == pytest.approx(logit)
        shown = [r.contribution for r in decision.reasons if r.contribution > 0]
        assert [s.value for s in steps[1:-2]] == shown
        others = contributions.iloc[i].sum() - sum(shown)
        assert steps[-2].value == pytest.approx(others + (logit - margin[i]), abs=1e-9)


def test_explanation_is_json_safe(gbm: TrainResult) -> None:
    import json

    explained = explain_credit(gbm.model, top=1)
    assert isinstance(explained, Explanation)
    data = json.loads(json.dumps(explained.to_dict(), allow_nan=False))
    assert set(data) == {
        "model", "kind", "algorithm", "sample", "sample_rows", "importance",
        "information_values", "partial_dependence",
    }  # fmt: skip
