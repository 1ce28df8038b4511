from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finai.datasets import LoanBook, make_loan_book, oracle_auc
from finai.datasets.spec import prepare
from finai.exceptions import ValidationError


@pytest.fixture(scope="module")
def book() -> LoanBook:
    return make_loan_book(20_000, seed=7)


def test_same_seed_gives_the_same_book_and_another_seed_another() -> None:
    first, again = make_loan_book(2_000, seed=3), make_loan_book(2_000, seed=3)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    assert np.array_equal(first.true_pd, again.true_pd)
    other = make_loan_book(2_000, seed=4)
    assert not first.frame["monthly_income"].equals(other.frame["monthly_income"])


@pytest.mark.parametrize("bad_rate", [0.02, 0.1, 0.3])
def test_mean_true_pd_matches_the_bad_rate(bad_rate: float) -> None:
    book = make_loan_book(10_000, seed=1, bad_rate=bad_rate)
    assert abs(book.true_pd.mean() - bad_rate) < 0.01
    assert abs(book.frame["default"].mean() - bad_rate) < 0.02


def test_oracle_auc_is_plausible(book: LoanBook) -> None:
    assert 0.7 < oracle_auc(book) < 0.9


def test_columns_have_realistic_values(book: LoanBook) -> None:
    frame = book.frame
    assert frame["applicant_id"].is_unique
    assert frame["age"].between(18, 80).all()
    assert (frame["monthly_income"] > 0).all() and (frame["monthly_debt"] >= 0).all()
    assert 2_000 < frame["monthly_income"].median() < 5_000
    assert set(frame["term_months"]) == {12, 24, 36, 48, 60}
    assert set(frame["home_ownership"]) == {"rent", "own", "mortgage"}
    assert frame["purpose"].nunique() >= 5 and frame["region"].nunique() >= 4
    assert frame["credit_utilisation"].dropna().between(0, 1).all()
    assert set(frame["prior_defaults"]) <= {0, 1, 2, 3}
    assert (frame["inquiries_6m"] >= 0).all()
    assert set(frame["default"]) == {0, 1}
    assert (
        frame["employment_years"].dropna() <= frame["age"][frame["employment_years"].notna()] - 18
    ).all()


def test_some_values_are_missing(book: LoanBook) -> None:
    share = book.frame.isna().mean()
    assert share["employment_years"] == pytest.approx(0.05, abs=0.01)
    assert share["credit_utilisation"] == pytest.approx(0.03, abs=0.01)
    assert share.drop(["employment_years", "credit_utilisation"]).eq(0).all()


def test_true_pd_follows_the_declared_directions(book: LoanBook) -> None:
    frame, pd_ = book.frame, book.true_pd
    high_util = frame["credit_utilisation"] > 0.75
    assert (
        pd_[high_util].mean() > 1.5 * pd_[~high_util & frame["credit_utilisation"].notna()].mean()
    )
    for name, direction in book.spec.monotone.items():
        column = frame[name]
        ok = column.notna().to_numpy()
        rho = pd.Series(pd_[ok]).corr(column[ok].reset_index(drop=True), method="spearman")
        assert np.sign(rho) == direction, name


def test_protected_columns_do_not_drive_the_pd_directly(book: LoanBook) -> None:
    by_nationality = pd.Series(book.true_pd).groupby(book.frame["nationality"]).mean()
    assert by_nationality.max() - by_nationality.min() < 0.01
    assert {"sex", "nationality"} <= set(book.frame.columns)


def test_the_spec_prepares_the_book(book: LoanBook) -> None:
    data = prepare(book.frame, book.spec)
    assert not {"applicant_id", "age", "sex", "nationality", "default"} & set(data.X.columns)
    assert list(data.protected.columns) == ["age", "sex", "nationality"]
    assert set(data.spec.categorical or ()) == {"region", "home_ownership", "purpose"}
    assert data.y.sum() == book.frame["default"].sum()


def test_every_feature_and_protected_column_has_a_plain_words_label(book: LoanBook) -> None:
    data = prepare(book.frame, book.spec)
    assert set(data.spec.labels) == {*data.spec.features, *data.spec.protected}
    assert data.spec.labels["monthly_income"] == "Monthly income"
    assert data.spec.labels["age"] == "Age in years"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"n": 0}, "n"), ({"bad_rate": 0.0}, "bad_rate"), ({"bad_rate": 1.5}, "bad_rate")],
)
def test_make_loan_book_refuses_impossible_settings(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        make_loan_book(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_oracle_auc_needs_both_classes() -> None:
    tiny = make_loan_book(3, seed=0, bad_rate=0.01)
    with pytest.raises(ValidationError, match="one class"):
        oracle_auc(tiny)
