"""A seeded synthetic loan book whose true probability of default is known.

The true PD is a logistic function of a few features, so tests can tell how close a
trained model gets to the best achievable (:func:`oracle_auc`)::

    logit(pd) = a + 3.3 * debt_to_income
                  + 1.2 * utilisation + 1.65 * [utilisation > 0.75]   (a threshold)
                  + 1.1 * prior_defaults + 0.27 * inquiries_6m
                  - 0.8 * ln(monthly_income / 2800)
                  - 0.075 * min(employment_years, 20)
                  + PURPOSE_EFFECT[purpose]   (business +0.7 … car -0.3)

with ``debt_to_income = monthly_debt / monthly_income`` and the intercept ``a``
solved so that the mean PD equals ``bad_rate``. The PD uses the true values; about
5% of ``employment_years`` and 3% of ``credit_utilisation`` are then hidden as missing.

Age, loan amount, term, home ownership and region carry no signal. The protected
columns ``age``, ``sex`` and ``nationality`` do not enter the PD; income is drawn
about 6% lower for women (a pay gap) and peaks in middle age, so ``sex`` and ``age``
relate to the PD indirectly, through income, as they do in real books: fairness reports
have something to find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from finai.datasets.spec import DatasetSpec
from finai.exceptions import ValidationError

PURPOSE_EFFECT: dict[str, float] = {
    "debt_consolidation": 0.4,
    "car": -0.3,
    "home_improvement": -0.15,
    "education": 0.15,
    "medical": 0.3,
    "business": 0.7,
    "other": 0.0,
}
"""Additive effect of each loan purpose on the log-odds of default."""

MONOTONE: dict[str, int] = {
    "monthly_income": -1,
    "monthly_debt": 1,
    "employment_years": -1,
    "credit_utilisation": 1,
    "prior_defaults": 1,
    "inquiries_6m": 1,
}
"""The true direction of the PD in each feature that drives it."""

LABELS: dict[str, str] = {
    "age": "Age in years",
    "sex": "Sex",
    "nationality": "Nationality",
    "region": "Region",
    "monthly_income": "Monthly income",
    "monthly_debt": "Monthly debt payments",
    "employment_years": "Years in employment",
    "home_ownership": "Home ownership",
    "loan_amount": "Loan amount",
    "term_months": "Loan term in months",
    "purpose": "Loan purpose",
    "credit_utilisation": "Credit utilisation",
    "prior_defaults": "Number of prior defaults",
    "inquiries_6m": "Credit inquiries in the last 6 months",
}
"""Plain-words name of each feature and protected column."""

LOAN_BOOK_SPEC = DatasetSpec(
    target="default",
    bad="1",
    id="applicant_id",
    protected=("age", "sex", "nationality"),
    monotone=MONOTONE,
    labels=LABELS,
)
"""How to train on a loan book: ``default`` 1 is bad; age, sex and nationality are protected.

Age is kept out of the model as fair lending asks; the policy's ``under_18`` knock-out
still reads ``age`` from the application, not from the model's features.
"""


@dataclass(frozen=True)
class LoanBook:
    """A synthetic loan book.

    Attributes
    ----------
    frame
        One row per loan: applicant_id, features, protected columns and ``default``.
    true_pd
        The probability of default each row's outcome was drawn from.
    spec
        How to train on ``frame``.
    """

    frame: pd.DataFrame
    true_pd: np.ndarray
    spec: DatasetSpec


def make_loan_book(n: int = 10_000, *, seed: int = 0, bad_rate: float = 0.1) -> LoanBook:
    """Draw a loan book of ``n`` loans; the same seed gives the same book.

    Parameters
    ----------
    n
        Number of loans.
    seed
        Seed of ``numpy.random.default_rng``.
    bad_rate
        Mean true PD, in (0, 1); the observed default rate varies around it.

    Returns
    -------
    LoanBook

    Raises
    ------
    ValidationError
        For ``n < 1`` or ``bad_rate`` outside (0, 1).

    Examples
    --------
    >>> book = make_loan_book(1_000, seed=1, bad_rate=0.2)
    >>> book.frame.shape, round(float(book.true_pd.mean()), 3)
    ((1000, 16), 0.2)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValidationError(f"n must be a whole number >= 1, got {n!r}", field="n")
    if not 0.0 < bad_rate < 1.0:
        raise ValidationError(f"bad_rate must lie in (0, 1), got {bad_rate!r}", field="bad_rate")
    rng = np.random.default_rng(seed)
    age = np.clip(np.round(rng.normal(41, 12, n)), 18, 80).astype(np.int64)
    sex = rng.choice(np.array(["female", "male"], dtype=object), n, p=[0.49, 0.51])
    nationality = rng.choice(
        np.array(["national", "eu", "non_eu"], dtype=object), n, p=[0.82, 0.12, 0.06]
    )
    region = rng.choice(np.array(["north", "south", "east", "west", "central"], dtype=object), n)
    peak = 0.25 * (1 - ((age - 50) / 32.0) ** 2)
    gap = np.where(sex == "female", np.log(0.94), 0.0)
    income = np.round(np.exp(np.log(2800) + peak + gap + rng.normal(0, 0.45, n)), 2)
    employment = np.minimum(np.round(rng.gamma(2.0, 3.5, n), 1), age - 18.0)
    own = 1 / (1 + np.exp(-(age - 45) / 8.0))
    housing = np.where(
        rng.random(n) < own,
        rng.choice(np.array(["own", "mortgage"], dtype=object), n, p=[0.4, 0.6]),
        "rent",
    ).astype(object)
    dti = rng.beta(2.0, 5.0, n) * 0.9
    debt = np.round(dti * income, 2)
    loan = np.clip(np.round(np.exp(np.log(income) + rng.normal(1.0, 0.5, n)), -2), 500, 100_000)
    term = rng.choice(np.array([12, 24, 36, 48, 60]), n, p=[0.15, 0.25, 0.3, 0.15, 0.15])
    purposes = np.array(list(PURPOSE_EFFECT), dtype=object)
    purpose = rng.choice(purposes, n, p=[0.3, 0.2, 0.15, 0.08, 0.07, 0.08, 0.12])
    utilisation = np.round(rng.beta(1.6, 2.4, n), 3)
    prior = np.minimum(rng.poisson(0.15, n), 3)
    inquiries = np.minimum(rng.poisson(1.0, n), 12)

    score = (
        3.3 * debt / income
        + 1.2 * utilisation
        + 1.65 * (utilisation > 0.75)
        + 1.1 * prior
        + 0.27 * inquiries
        - 0.8 * np.log(income / 2800)
        - 0.075 * np.minimum(employment, 20)
        + np.array([PURPOSE_EFFECT[p] for p in purpose])
    )
    true_pd = _sigmoid(score + _intercept(score, bad_rate))
    default = (rng.random(n) < true_pd).astype(np.int64)

    frame = pd.DataFrame(
        {
            "applicant_id": np.array([f"APP{i:07d}" for i in range(1, n + 1)], dtype=object),
            "age": age,
            "sex": sex,
            "nationality": nationality,
            "region": region,
            "monthly_income": income,
            "monthly_debt": debt,
            "employment_years": np.where(rng.random(n) < 0.05, np.nan, employment),
            "home_ownership": housing,
            "loan_amount": loan,
            "term_months": term.astype(np.int64),
            "purpose": purpose,
            "credit_utilisation": np.where(rng.random(n) < 0.03, np.nan, utilisation),
            "prior_defaults": prior.astype(np.int64),
            "inquiries_6m": inquiries.astype(np.int64),
            "default": default,
        }
    )
    return LoanBook(frame=frame, true_pd=true_pd, spec=LOAN_BOOK_SPEC)


def oracle_auc(book: LoanBook) -> float:
    """Return the AUC of the true PD against the drawn outcomes: the best achievable.

    Raises
    ------
    ValidationError
        When the book has only good or only bad loans.
    """
    y = book.frame[book.spec.target].to_numpy()
    if len(np.unique(y)) < 2:
        raise ValidationError(
            "the loan book has one class only; draw more loans", field=book.spec.target
        )
    return float(roc_auc_score(y, book.true_pd))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _intercept(score: np.ndarray, target: float) -> float:
    low, high = -40.0, 40.0
    for _ in range(100):
        mid = (low + high) / 2
        if _sigmoid(score + mid).mean() < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2
