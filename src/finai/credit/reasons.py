"""Adverse-action reasons: why an applicant's score was low, in words they can read.

Both credit models explain a row as one number per feature, positive where that feature
hurt the applicant (points lost for the scorecard, log-odds of bad added for the
gradient-boosting model). :func:`adverse_reasons` keeps the features that hurt, most
adverse first, at most :data:`MAX_REASONS` of them (the four principal reasons of
adverse-action notices).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from finai.exceptions import ValidationError

__all__ = ["MAX_REASONS", "Reason", "adverse_reasons", "check_reason_count", "value_text"]

MAX_REASONS = 4
"""The most reasons given to one applicant."""

Describe = Callable[[str, str, float], str]
"""Builds a reason's text from (feature label, value text, contribution)."""


@dataclass(frozen=True)
class Reason:
    """One adverse-action reason.

    Attributes
    ----------
    feature
        The feature (column) name.
    value
        The applicant's value as text; ``"missing"`` where it was not given.
    contribution
        How much the feature hurt, in the model's unit (scorecard: points lost against
        the best attribute; gradient boosting: log-odds of bad added); always > 0.
    text
        A sentence a declined applicant can read.
    """

    feature: str
    value: str
    contribution: float
    text: str


def value_text(value: object) -> str:
    """Return a value as an applicant reads it: ``"missing"``, ``"36"``, ``"A11"``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "missing"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "missing"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    return str(value)


def check_reason_count(n: int) -> int:
    """Return ``n`` when it is a whole number in [1, MAX_REASONS]; raise otherwise."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= MAX_REASONS:
        raise ValidationError(f"n must be a whole number from 1 to {MAX_REASONS}", field="n")
    return int(n)


def adverse_reasons(
    harm: pd.DataFrame,
    values: pd.DataFrame,
    describe: Describe,
    *,
    n: int = MAX_REASONS,
    labels: Mapping[str, str] | None = None,
) -> list[list[Reason]]:
    """Return each row's features that hurt, most adverse first.

    Parameters
    ----------
    harm
        One row per applicant, one column per feature: how much the feature hurt
        (positive) or helped (zero or negative).
    values
        The applicants' values, same rows; must hold every column of ``harm``.
    describe
        Builds the text from (label, value text, contribution).
    n
        Most reasons per row, 1 to :data:`MAX_REASONS`.
    labels
        Plain-words names for features (e.g. ``{"checking": "Checking account balance"}``);
        features without one use their column name.

    Returns
    -------
    list[list[Reason]]
        One list per row of ``harm``: only features with a positive contribution, sorted
        by contribution, largest first (ties in column order), at most ``n``.
    """
    count = check_reason_count(n)
    names = [str(c) for c in harm.columns]
    amounts = harm.to_numpy(dtype=np.float64)
    shown = values[list(harm.columns)].to_numpy(dtype=object)
    names_shown = {name: (labels or {}).get(name, name) for name in names}
    result: list[list[Reason]] = []
    for row, row_values in zip(amounts, shown, strict=True):
        order = np.argsort(-row, kind="stable")[:count]
        reasons = []
        for j in order:
            amount = float(row[j])
            if not amount > 0.0:
                break
            text = value_text(row_values[j])
            reasons.append(
                Reason(
                    feature=names[j],
                    value=text,
                    contribution=amount,
                    text=describe(names_shown[names[j]], text, amount),
                )
            )
        result.append(reasons)
    return result
