from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from finai.credit import (
    DEFAULT_POLICY,
    CreditModel,
    Decision,
    Outcome,
    decide,
    decide_row,
    parse_policy,
    prepare,
)
from finai.credit.artifact import plain_features
from finai.credit.decision import INCOME_UNKNOWN, input_hash, score_frame
from finai.credit.training import TrainResult, build
from finai.datasets import LoanBook
from finai.exceptions import ValidationError

POLICY = parse_policy(DEFAULT_POLICY)


def _decide(frame: pd.DataFrame, trained: TrainResult) -> list:  # type: ignore[type-arg]
    return decide(frame, trained.model, POLICY, model_name="m", model_version=1, policy_version=1)


def test_decisions_follow_the_policy_and_are_deterministic(
    book: LoanBook, trained: TrainResult
) -> None:
    frame = book.frame.head(300)
    first, second = _decide(frame, trained), _decide(frame, trained)
    assert [(d.outcome, d.pd, d.score, d.limit, d.reasons) for d in first] == [
        (d.outcome, d.pd, d.score, d.limit, d.reasons) for d in second
    ]
    assert {d.outcome for d in first} >= {Outcome.APPROVE, Outcome.DECLINE}
    for d in first:
        assert 0 <= d.pd <= 1
        assert len(d.reasons) <= 4
        assert d.input_hash == first[first.index(d)].input_hash
        if d.outcome is Outcome.DECLINE:
            assert d.limit == 0
        elif d.outcome is Outcome.APPROVE:
            assert d.pd < POLICY.cutoffs.approve_below
            assert d.limit is not None
    pds = np.array([d.pd for d in first])
    scores = np.array([d.score for d in first])
    assert np.corrcoef(pds, scores)[0, 1] < -0.9


def test_knockouts_decline_and_come_first(book: LoanBook, trained: TrainResult) -> None:
    frame = book.frame.head(3).copy()
    frame["age"] = [17, 40, 40]
    frame["declared_bankruptcy"] = ["no", "yes", "no"]
    decisions = _decide(frame, trained)
    assert [d.knockouts for d in decisions[:2]] == [("under_18",), ("bankruptcy",)]
    assert decisions[0].outcome is Outcome.DECLINE
    assert decisions[0].reasons[0].text == "Applicants must be at least 18 years old"
    assert decisions[1].reasons[0].feature == "declared_bankruptcy"


def test_unknown_income_refers_to_a_person(book: LoanBook, trained: TrainResult) -> None:
    frame = book.frame.head(200).copy()
    frame["monthly_income"] = np.nan
    decisions = _decide(frame, trained)
    not_declined = [d for d in decisions if d.outcome is not Outcome.DECLINE]
    assert not_declined
    assert all(d.outcome is Outcome.REFER and d.limit is None for d in not_declined)
    assert all(d.reasons[0].text == INCOME_UNKNOWN for d in not_declined)


def test_unseen_categories_and_missing_values_are_scored(
    book: LoanBook, trained: TrainResult
) -> None:
    frame = book.frame.head(5).copy()
    categorical = trained.model.spec.categorical or ()
    numeric = trained.model.spec.numeric or ()
    frame[categorical[0]] = "never-seen-before"
    frame[numeric[0]] = np.nan
    decisions = _decide(frame, trained)
    assert all(np.isfinite(d.pd) and np.isfinite(d.score) for d in decisions)


def test_missing_feature_column_is_a_validation_error(book: LoanBook, trained: TrainResult) -> None:
    numeric = trained.model.spec.numeric or ()
    with pytest.raises(ValidationError) as exc:
        _decide(book.frame.head(2).drop(columns=[numeric[0]]), trained)
    assert numeric[0] in str(exc.value)


def test_the_lenders_reference_is_not_part_of_the_input_hash(
    book: LoanBook, trained: TrainResult
) -> None:
    frame = book.frame.head(1).copy()
    plain = _decide(frame, trained)[0]
    frame["ref"] = "A-77"
    tagged = decide(
        frame,
        trained.model,
        POLICY,
        model_name="m",
        model_version=1,
        policy_version=1,
        ref_column="ref",
    )[0]
    assert tagged.applicant_ref == "A-77"
    assert tagged.input_hash == plain.input_hash


def test_input_hash_ignores_key_order_and_treats_nan_as_missing() -> None:
    assert input_hash({"a": 1, "b": float("nan")}) == input_hash({"b": None, "a": 1})
    assert input_hash({"a": 1}) != input_hash({"a": 2})


def test_batch_scoring_says_what_decide_says(book: LoanBook, trained: TrainResult) -> None:
    frame = book.frame.head(400).copy()
    frame.loc[frame.index[:5], "age"] = 16
    frame.loc[frame.index[5:40], "monthly_income"] = np.nan
    decisions = _decide(frame, trained)
    scored = score_frame(frame, trained.model, POLICY)
    assert list(scored["outcome"]) == [d.outcome.value for d in decisions]
    assert list(scored["pd"]) == [d.pd for d in decisions]
    assert list(scored["score"]) == [d.score for d in decisions]
    limits = [np.nan if d.limit is None else float(d.limit) for d in decisions]
    np.testing.assert_array_equal(scored["limit"].to_numpy(), limits)
    assert list(scored["reasons"]) == [" | ".join(r.text for r in d.reasons) for d in decisions]
    assert {"decline", "refer"} <= set(scored["outcome"].iloc[:40])


def test_one_applicant_is_decided_as_within_a_batch(book: LoanBook, trained: TrainResult) -> None:
    frame = book.frame.head(50)
    batch = _decide(frame, trained)
    for i in (0, 17, 49):
        (alone,) = _decide(frame.iloc[[i]], trained)
        assert (alone.outcome, alone.pd, alone.score, alone.limit, alone.reasons) == (
            batch[i].outcome, batch[i].pd, batch[i].score, batch[i].limit, batch[i].reasons,
        )  # fmt: skip
        assert alone.input_hash == batch[i].input_hash


# -- the one-row path ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(book: LoanBook) -> dict[str, CreditModel]:
    """A scorecard and a GBM on the book, ``term_months`` read as a category."""
    data = prepare(book.frame, dataclasses.replace(book.spec, categorical=("term_months",)))
    fitted = {}
    for algorithm in ("scorecard", "gbm"):
        estimator = build(algorithm, data.spec, 5, len(data.y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optbinning's pandas deprecations
            estimator.fit(data.X, data.y)
        fitted[algorithm] = CreditModel(estimator, data.spec, algorithm, np.zeros(0))
    return fitted


def _awkward(book: LoanBook, rows: int = 300) -> pd.DataFrame:
    """Applicants with knock-outs, missing values, unseen categories and padded text."""
    frame = book.frame.head(rows).copy()
    frame["declared_bankruptcy"] = "no"
    frame.loc[frame.index[:5], "age"] = 16
    frame.loc[frame.index[5:10], "declared_bankruptcy"] = "Yes"
    frame.loc[frame.index[10:30], "monthly_income"] = np.nan
    frame.loc[frame.index[30:40], "region"] = "atlantis"
    frame.loc[frame.index[40:50], "purpose"] = np.nan
    frame.loc[frame.index[50:55], "purpose"] = "   "
    frame.loc[frame.index[55:65], "home_ownership"] = "  rent "
    frame.loc[frame.index[65:75], "loan_amount"] = np.nan
    frame.loc[frame.index[75:80], "term_months"] = 99  # a term never seen in training
    frame.loc[frame.index[80:90], "monthly_debt"] = np.nan
    return frame


def _as_json(record: dict[str, Any]) -> dict[str, Any]:
    """What the API hands over: Python scalars, null for NaN."""
    out = {}
    for key, value in record.items():
        value = value.item() if isinstance(value, np.generic) else value
        out[key] = None if isinstance(value, float) and np.isnan(value) else value
    return out


def _same(one: Decision, other: Decision) -> bool:
    fields = ("outcome", "pd", "score", "limit", "currency", "reasons", "knockouts")
    more = ("input_hash", "applicant_ref", "model_name", "model_version", "policy_version")
    return all(getattr(one, f) == getattr(other, f) for f in fields + more)


@pytest.mark.parametrize("algorithm", ["scorecard", "gbm"])
def test_one_row_path_decides_as_the_batch_path(
    book: LoanBook, models: dict[str, CreditModel], algorithm: str
) -> None:
    model = models[algorithm]
    frame = _awkward(book)
    batch = decide(
        frame,
        model,
        POLICY,
        model_name="m",
        model_version=2,
        policy_version=3,
        ref_column="applicant_id",
    )
    records = [_as_json(r) for r in frame.to_dict(orient="records")]
    for i, applicant in enumerate(records):
        assert plain_features(applicant, model.spec) is not None  # the path without a table
        ref = applicant.pop("applicant_id")
        alone = decide_row(
            applicant,
            model,
            POLICY,
            model_name="m",
            model_version=2,
            policy_version=3,
            applicant_ref=ref,
        )
        assert _same(alone, batch[i]), (i, alone, batch[i])
    outcomes = {d.outcome for d in batch}
    assert outcomes == {Outcome.APPROVE, Outcome.REFER, Outcome.DECLINE}
    assert [d.knockouts for d in batch[:10]] == [("under_18",)] * 5 + [("bankruptcy",)] * 5
    assert all(d.limit is None or d.outcome is Outcome.DECLINE for d in batch[10:30])
    assert any(r.value == "missing" for d in batch for r in d.reasons)


@pytest.mark.parametrize("algorithm", ["scorecard", "gbm"])
def test_batch_scoring_words_awkward_rows_as_decide_does(
    book: LoanBook, models: dict[str, CreditModel], algorithm: str
) -> None:
    """score_frame words each distinct value once and joins in Arrow; decide row by row."""
    model = models[algorithm]
    frame = pd.concat([_awkward(book), _awkward(book).iloc[::-1]], ignore_index=True)
    decisions = decide(frame, model, POLICY, model_name="m", model_version=1, policy_version=1)
    scored = score_frame(frame, model, POLICY)
    assert list(scored["reasons"]) == [" | ".join(r.text for r in d.reasons) for d in decisions]
    assert list(scored["outcome"]) == [d.outcome.value for d in decisions]
    assert list(scored["pd"]) == [d.pd for d in decisions]
    assert scored["reasons"].dtype == scored["outcome"].dtype == pd.Series(["x"]).dtype
    assert (scored["reasons"] == "").sum() < len(frame)


def test_values_the_one_row_path_does_not_read_take_the_table_path(
    book: LoanBook, models: dict[str, CreditModel]
) -> None:
    base = _as_json(book.frame.head(1).to_dict(orient="records")[0])
    variants = [
        {"monthly_income": "2500.5", "loan_amount": " 4000 "},  # numbers as text
        {"prior_defaults": True, "inquiries_6m": False},  # flags as numbers
        {"region": float("nan"), "purpose": 7.0, "term_months": 36.0},  # numbers as categories
        {"home_ownership": True, "monthly_debt": 2**60},
        {"declared_bankruptcy": 1, "age": "17"},  # what only the policy reads
    ]
    for algorithm, model in models.items():
        for change in variants:
            applicant = {**base, **change}
            alone = decide_row(
                applicant, model, POLICY, model_name="m", model_version=1, policy_version=1
            )
            (table,) = decide(
                pd.DataFrame([applicant]),
                model,
                POLICY,
                model_name="m",
                model_version=1,
                policy_version=1,
            )
            assert _same(alone, table), (algorithm, change)


def test_the_one_row_path_refuses_what_the_table_path_refuses(
    book: LoanBook, models: dict[str, CreditModel]
) -> None:
    base = _as_json(book.frame.head(1).to_dict(orient="records")[0])
    missing = dict(base)
    del missing["loan_amount"]
    bad = [
        missing,
        {**base, "monthly_income": -1.0},
        {**base, "monthly_income": "lots"},
        {**base, "loan_amount": float("inf")},
        {**base, "employment_years": [1, 2]},
    ]
    model = models["scorecard"]
    for applicant in bad:
        with pytest.raises(ValidationError) as table:
            decide(
                pd.DataFrame([applicant]),
                model,
                POLICY,
                model_name="m",
                model_version=1,
                policy_version=1,
            )
        with pytest.raises(ValidationError) as alone:
            decide_row(applicant, model, POLICY, model_name="m", model_version=1, policy_version=1)
        assert (str(alone.value), alone.value.field) == (str(table.value), table.value.field)
