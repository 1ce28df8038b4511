"""Adverse-action reasons: at most four, most adverse first, only what hurt, plain words."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finai.credit.gbm import GBMModel
from finai.credit.reasons import (
    MAX_REASONS,
    TEXT,
    Assessment,
    Reason,
    adverse_reasons,
    value_text,
    value_texts,
)
from finai.credit.scorecard import ScorecardModel
from finai.exceptions import ValidationError
from tests.credit.test_scorecard import FEATURES, german_data, make_synthetic

LABELS = {"dti": "Debt-to-income ratio", "region": "Region of residence"}
SCORECARD_TEXT = re.compile(
    r"^(?P<label>.+) \((?P<value>.+)\) lowered the score by (\d+ points?|less than 1 point)$"
)
GBM_TEXT = re.compile(r"^(?P<label>.+) \((?P<value>.+)\) raised the estimated risk$")


@pytest.fixture(scope="module")
def book() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    X, y, _ = make_synthetic(3000, seed=0)
    X_test, _, _ = make_synthetic(300, seed=1)
    return X, y, X_test


@pytest.fixture(scope="module")
def scorecard(book) -> ScorecardModel:
    return ScorecardModel().fit(book[0], book[1])


@pytest.fixture(scope="module")
def gbm(book) -> GBMModel:
    return GBMModel(random_state=0).fit(book[0], book[1])


def check_reasons(
    reasons: list[list[Reason]], X: pd.DataFrame, text: re.Pattern[str], n: int = MAX_REASONS
) -> None:
    assert len(reasons) == len(X)
    for row_reasons, (_, row) in zip(reasons, X.iterrows(), strict=True):
        assert len(row_reasons) <= n
        amounts = [r.contribution for r in row_reasons]
        assert amounts == sorted(amounts, reverse=True)
        assert all(a > 0 for a in amounts)
        assert len({r.feature for r in row_reasons}) == len(row_reasons)
        for reason in row_reasons:
            match = text.match(reason.text)
            assert match, reason.text
            assert match["label"] == LABELS.get(reason.feature, reason.feature)
            assert match["value"] == reason.value == value_text(row[reason.feature])


def test_reason_is_a_frozen_value() -> None:
    reason = Reason("dti", "0.45", 12.5, "Debt-to-income ratio (0.45) lowered the score")
    assert Reason._fields == ("feature", "value", "contribution", "text")
    assert reason == Reason(*reason)
    with pytest.raises(AttributeError):
        reason.contribution = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.nan, "missing"),
        (None, "missing"),
        (pd.NA, "missing"),
        (36.0, "36"),
        (0.25, "0.25"),
        (np.float64(1169.0), "1169"),
        (np.int64(3), "3"),
        ("A11", "A11"),
    ],
)
def test_value_text(value, text) -> None:
    assert value_text(value) == text


def test_adverse_reasons_keep_only_harm_most_adverse_first() -> None:
    harm = pd.DataFrame(
        {"a": [1.0, -2.0], "b": [3.0, 0.0], "c": [1.0, 0.5], "d": [0.2, 0.0], "e": [5.0, 0.0]}
    )
    values = pd.DataFrame({name: ["x", np.nan] for name in "abcde"})
    reasons = adverse_reasons(harm, values, lambda label, value, _: label + "=" + value)
    assert [r.feature for r in reasons[0]] == ["e", "b", "a", "c"]  # a before c: a tie
    assert [r.feature for r in reasons[1]] == ["c"]
    assert reasons[1][0] == Reason("c", "missing", 0.5, "c=missing")
    named = adverse_reasons(
        harm, values, lambda label, value, _: np.full(len(value), label), n=1, labels={"e": "E!"}
    )
    assert [[r.text for r in row] for row in named] == [["E!"], ["c"]]


@pytest.mark.parametrize("n", [0, 5, 2.5, True])
def test_reason_count_is_checked(n, scorecard, book) -> None:
    with pytest.raises(ValidationError) as caught:
        scorecard.reasons(book[2].head(2), n=n)
    assert caught.value.field == "n"


def test_scorecard_reasons(scorecard, book) -> None:
    X_test = book[2]
    reasons = scorecard.reasons(X_test, labels=LABELS)
    check_reasons(reasons, X_test, SCORECARD_TEXT)
    assert any(len(r) == MAX_REASONS for r in reasons)
    check_reasons(scorecard.reasons(X_test, n=2, labels=LABELS), X_test, SCORECARD_TEXT, n=2)


def test_scorecard_reason_is_points_lost_against_the_best_bin(scorecard, book) -> None:
    X_test = book[2].head(50)
    table = scorecard.table()
    best = table[table["count"] > 0].groupby("characteristic")["points"].max()
    points = scorecard.points(X_test)
    for i, row_reasons in enumerate(scorecard.reasons(X_test)):
        lost = best - points.iloc[i]
        for reason in row_reasons:
            assert reason.contribution == pytest.approx(lost[reason.feature], abs=1e-9)
        listed = {r.feature for r in row_reasons}
        hurt = lost[lost > 1e-9].sort_values(ascending=False)
        assert list(hurt.index[: len(listed)]) == [r.feature for r in row_reasons]


def test_gbm_reasons(gbm, book) -> None:
    X_test = book[2]
    reasons = gbm.reasons(X_test, labels=LABELS)
    check_reasons(reasons, X_test, GBM_TEXT)
    contributions, _ = gbm.contributions(X_test)
    for i, row_reasons in enumerate(reasons):
        row = contributions.iloc[i]
        expected = row[row > 0].sort_values(ascending=False, kind="stable").head(MAX_REASONS)
        assert [r.feature for r in row_reasons] == list(expected.index)
        np.testing.assert_allclose([r.contribution for r in row_reasons], expected.to_numpy())


def test_missing_values_read_as_missing(scorecard, gbm, book) -> None:
    rows = book[2].head(5).assign(income=np.nan, region="atlantis")
    for model in (scorecard, gbm):
        for row_reasons in model.reasons(rows):
            for reason in row_reasons:
                if reason.feature == "income":
                    assert reason.value == "missing"
                if reason.feature == "region":
                    assert reason.value == "atlantis"


def test_german_reasons_name_the_codes() -> None:
    X, y = german_data()
    model = ScorecardModel().fit(X, y)
    declined = X[model.predict_proba(X)[:, 1] > 0.5].head(20)
    reasons = model.reasons(declined, labels={"checking_status": "Checking account status"})
    check = re.compile(r"^.+ \(.+\) lowered the score by (\d+ points?|less than 1 point)$")
    assert all(reasons)
    for row_reasons in reasons:
        assert all(check.match(r.text) for r in row_reasons)
        assert {r.feature for r in row_reasons} <= set(X.columns)
    first = [r for row in reasons for r in row if r.feature == "checking_status"]
    assert first and first[0].text.startswith("Checking account status (A1")


def test_reasons_need_a_fitted_model(book) -> None:
    from sklearn.exceptions import NotFittedError

    for model in (ScorecardModel(), GBMModel()):
        with pytest.raises(NotFittedError):
            model.reasons(book[2][FEATURES].head(1))


NUMBERS = st.one_of(st.floats(), st.integers(-500_000, 500_000).map(lambda cents: cents / 100))


@settings(max_examples=500)
@given(st.lists(NUMBERS, max_size=30))
def test_numbers_read_as_integers_or_six_significant_digits(values: list[float]) -> None:
    def expected(v: float) -> str:
        if v != v:
            return "missing"
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.6g}"

    texts = value_texts(np.array(values, dtype=np.float64))
    assert [str(t) for t in texts] == [expected(v) for v in values]


# -- the batch paths against a reference, one row and one reason at a time ----------------


def _worded(label: str, value: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """A describe whose text depends on the label, the value text and the amount."""
    return label + ": " + value + " (" + np.round(amount, 3).astype(TEXT) + ")"


def _reference(
    harm: np.ndarray, values: dict[str, np.ndarray], n: int, first: dict[int, list[str]]
) -> list[list[tuple[str, str, float, str]]]:
    """Each row on its own: positive harm, largest first (ties in column order), worded."""
    names = list(values)
    rows = []
    for i, row in enumerate(harm):
        ranked = sorted(range(len(names)), key=lambda j: (-row[j], j))[:n]
        picked = []
        for j in ranked:
            if row[j] > 0:
                word = value_text(values[names[j]][i])
                worded = _worded(names[j].upper(), np.array([word], dtype=TEXT), row[[j]])
                text = str(worded[0])
                picked.append((names[j], word, float(row[j]), text))
        rows.append([("", "", 0.0, t) for t in first.get(i, [])] + picked)
    return [row[: max(n, len(first.get(i, [])))] for i, row in enumerate(rows)]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 80),
    n=st.integers(1, MAX_REASONS),
    seed=st.integers(0, 2**32 - 1),
)
def test_batch_reasons_and_joined_texts_match_the_reference(rows: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # few distinct harms and values so that ties and repeats occur; some missing values
    harm = rng.choice([-1.0, 0.0, 0.25, 0.5, 1.5, 2.0], size=(rows, 5))
    noisy = rng.random((rows, 5)) < 0.3
    harm[noisy] = rng.normal(size=int(noisy.sum()))
    numbers = rng.choice([1.0, 2.5, 1234.5678, 1e-7, np.nan], size=rows)
    values = {
        "amount": numbers,
        "share": rng.choice([0.125, 3.0, np.nan], size=rows),
        "region": rng.choice(np.array(["north", "south", None, np.nan], dtype=object), rows),
        "code": rng.choice(np.array(["A11", "A12"], dtype=object), rows),
        "count": rng.integers(0, 3, size=rows).astype(np.float64),
    }
    first = {int(i): ["policy one", "policy two"][: 1 + i % 2] for i in range(0, rows, 7)}
    assessment = Assessment(
        pd=np.zeros(rows),
        score=np.zeros(rows),
        harm=harm,
        values=values,
        describe=_worded,
    )
    labels = {name: name.upper() for name in values}
    expected = _reference(harm, values, n, {})
    got = [[tuple(r) for r in row] for row in assessment.reasons(n, labels)]
    assert got == expected
    texts = assessment.texts(n, labels)
    words = [[r[3] for r in row] for row in expected]
    assert [[str(t) for t in row if t] for row in texts] == words
    joined = assessment.joined(n, labels, first).to_pylist()
    with_policy = _reference(harm, values, n, first)
    assert joined == [" | ".join(r[3] for r in row[:n]) for row in with_policy]


def test_joined_texts_keep_rows_without_reasons() -> None:
    harm = np.array([[0.0, -1.0], [2.0, 0.0], [0.0, 0.0]])
    values = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array(["x", "y", "z"], dtype=object)}
    assessment = Assessment(np.zeros(3), np.zeros(3), harm, values, _worded)
    assert assessment.joined(2).to_pylist() == ["", "a: 2 (2.0)", ""]
    assert assessment.joined(2, first={2: ["p"]}).to_pylist() == ["", "a: 2 (2.0)", "p"]
