from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finai.credit import DEFAULT_POLICY, Outcome, decide, parse_policy
from finai.credit.decision import INCOME_UNKNOWN, input_hash, score_frame
from finai.credit.training import TrainResult
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
