"""The registered fraud model: score, decide and explain from features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finai.exceptions import ValidationError
from finai.fraud.artifact import FraudModel
from finai.fraud.thresholds import Action
from tests.fraud.simulations import history, trained

ALGORITHMS = ["lightgbm", "logistic", "isolation_forest"]


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    frame = history()
    return trained().model.features(frame).tail(2_000)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_score_decide_and_reasons_agree(algorithm: str, features: pd.DataFrame) -> None:
    model = trained(algorithm).model
    scores = model.score(features)
    assert scores.shape == (2_000,) and ((scores >= 0) & (scores <= 1)).all()
    decisions = model.decide(features)
    expected = np.where(
        scores >= model.thresholds.block,
        Action.BLOCK,
        np.where(scores >= model.thresholds.review, Action.REVIEW, Action.ALLOW),
    )
    assert decisions == expected.tolist()
    assert set(decisions) <= set(Action)
    reasons = model.reasons(features, n=3)
    assert len(reasons) == 2_000
    for row, found in zip(features.itertuples(index=False), reasons, strict=True):
        assert len(found) <= 3
        contributions = [r.contribution for r in found]
        assert contributions == sorted(contributions, reverse=True)
        assert all(c > 0 for c in contributions)
        for reason in found:
            assert reason.value == getattr(row, reason.feature)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_one_pass_and_one_row_paths_give_the_batch_scores(
    algorithm: str, features: pd.DataFrame
) -> None:
    model = trained(algorithm).model
    head = features.head(50)
    scores, reasons = model.assess(head, 3)
    np.testing.assert_allclose(scores, model.score(head), rtol=1e-9, atol=1e-12)
    assert reasons == model.reasons(head, 3)
    for i, row in enumerate(head[list(model.feature_names)].to_dict(orient="records")):
        assert model.score_row(row) == pytest.approx(scores[i], rel=1e-9)
        assert model.assess_row(row, 3) == (pytest.approx(scores[i], rel=1e-9), reasons[i])
    with pytest.raises(ValidationError) as caught:
        model.score_row({**row, model.feature_names[0]: float("nan")})
    assert caught.value.field == model.feature_names[0]


def test_lightgbm_reasons_are_the_largest_tree_contributions(features: pd.DataFrame) -> None:
    model = trained().model
    top = features.iloc[[int(np.argmax(model.score(features)))]]
    contributions = model.estimator.contributions(top[list(model.feature_names)])[0]
    best = sorted(range(len(contributions)), key=lambda i: -contributions[i])[:2]
    assert [r.feature for r in model.reasons(top, n=2)[0]] == [model.feature_names[i] for i in best]


def test_columns_are_taken_by_name_and_extra_ones_ignored(features: pd.DataFrame) -> None:
    model = trained().model
    shuffled = features[list(reversed(features.columns))].assign(other="x")
    np.testing.assert_array_equal(model.score(shuffled), model.score(features))


def test_bad_features_name_the_column(features: pd.DataFrame) -> None:
    model: FraudModel = trained().model
    with pytest.raises(ValidationError) as caught:
        model.score(features.drop(columns="amount"))
    assert caught.value.field == "amount"
    broken = features.head(3).copy()
    broken.loc[broken.index[1], "hour"] = np.inf
    with pytest.raises(ValidationError) as caught:
        model.decide(broken)
    assert caught.value.field == "hour"
    with pytest.raises(ValidationError) as caught:
        model.reasons(features.head(1), n=0)
    assert caught.value.field == "n"
    assert model.score(features.head(0)).shape == (0,)
    assert model.reasons(features.head(0)) == []
