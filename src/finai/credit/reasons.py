"""Adverse-action reasons: why an applicant's score was low, in words they can read.

Both credit models explain a row as one number per feature, positive where that feature
hurt the applicant (points lost for the scorecard, log-odds of bad added for the
gradient-boosting model). The features that hurt become reasons, most adverse first, at
most :data:`MAX_REASONS` of them (the four principal reasons of adverse-action notices).

Reasons are picked for a whole batch at once (one sort of the harm matrix, texts built
per feature column) because batch scoring explains every row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.dtypes import StringDType

from finai.exceptions import ValidationError

__all__ = [
    "MAX_REASONS",
    "Assessment",
    "Reason",
    "adverse_reasons",
    "check_reason_count",
    "value_text",
    "value_texts",
]

MAX_REASONS = 4
"""The most reasons given to one applicant."""

TEXT = StringDType()
"""numpy's variable-width text type: reason texts are built in whole columns."""

Describe = Callable[[str, npt.NDArray[Any], npt.NDArray[np.float64]], npt.NDArray[Any]]
"""Builds reason texts from a feature label, value texts and contributions (arrays)."""


class Reason(NamedTuple):
    """One adverse-action reason (an immutable value).

    Attributes
    ----------
    feature
        The feature (column) name.
    value
        The applicant's value as text; ``"missing"`` where it was not given.
    contribution
        How much the feature hurt, in the model's unit (scorecard: points lost against
        the best attribute; gradient boosting: log-odds of bad added); > 0 for model
        reasons, 0 for policy reasons (knock-outs, missing income).
    text
        A sentence a declined applicant can read.
    """

    feature: str
    value: str
    contribution: float
    text: str


def value_text(value: object) -> str:
    """Return a value as an applicant reads it: ``"missing"``, ``"36"``, ``"0.35"``, ``"A11"``.

    Whole numbers read as integers, other numbers with six significant digits (as
    ``%.6g``), missing values as ``"missing"``.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return "missing"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return str(value_texts(np.array([value]))[0])
    return str(value)


def value_texts(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return :func:`value_text` of every value, as a numpy ``StringDType`` array.

    Float arrays are formatted in whole columns; other values one distinct value at a
    time.
    """
    if values.dtype.kind != "f":
        codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
        return np.array([*(value_text(u) for u in uniques), "missing"], dtype=TEXT)[codes]
    x = values.astype(np.float64)
    out = np.full(len(x), "missing", dtype=TEXT)
    size = np.abs(x)
    whole = np.isfinite(x) & (x == np.trunc(x)) & (size < 1e15)
    out[whole] = x[whole].astype(np.int64).astype(TEXT)
    # %.6g in whole columns where it writes plain decimals: round to 6 significant digits
    plain = ~whole & (size >= 1e-4) & (size < 999_999.5)
    digits = 5 - np.floor(np.log10(size, where=plain, out=np.ones_like(x))).astype(np.int64)
    for places in np.unique(digits[plain]):
        rows = plain & (digits == places)
        rounded = np.round(x[rows], int(places))
        text = rounded.astype(TEXT)
        became_whole = rounded == np.trunc(rounded)
        text[became_whole] = rounded[became_whole].astype(np.int64).astype(TEXT)
        out[rows] = text
    for i in np.flatnonzero(~whole & ~plain & ~np.isnan(x)):
        out[i] = f"{x[i]:.6g}"
    return out


def check_reason_count(n: int) -> int:
    """Return ``n`` when it is a whole number in [1, MAX_REASONS]; raise otherwise."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= MAX_REASONS:
        raise ValidationError(f"n must be a whole number from 1 to {MAX_REASONS}", field="n")
    return int(n)


@dataclass(frozen=True)
class Assessment:
    """One pass of a credit model over applicants: PD, score and what hurt each of them.

    Attributes
    ----------
    pd
        Probability of default per row, in [0, 1].
    score
        Credit score per row (higher is better).
    harm
        Rows by features: how much each feature hurt (positive) or helped (zero or
        negative) the applicant, in the model's unit.
    values
        The applicants' feature values, one array per feature in ``harm``'s column order
        (its keys name ``harm``'s columns).
    describe
        Builds a reason's text from (label, value text, contribution).
    """

    pd: npt.NDArray[np.float64]
    score: npt.NDArray[np.float64]
    harm: npt.NDArray[np.float64]
    values: Mapping[str, npt.NDArray[Any]]
    describe: Describe

    def reasons(
        self, n: int = MAX_REASONS, labels: Mapping[str, str] | None = None
    ) -> list[list[Reason]]:
        """Return each row's features that hurt, most adverse first (at most ``n``)."""
        return _as_reasons(_pick(self.harm, self.values, self.describe, n, labels), self.values)

    def texts(
        self, n: int = MAX_REASONS, labels: Mapping[str, str] | None = None
    ) -> npt.NDArray[Any]:
        """Return rows by ``n`` reason texts, most adverse first; "" where there is none."""
        return _pick(self.harm, self.values, self.describe, n, labels).text


class _Picked(NamedTuple):
    order: npt.NDArray[np.intp]
    amount: npt.NDArray[np.float64]
    shown: npt.NDArray[np.bool_]
    value: npt.NDArray[Any]
    text: npt.NDArray[Any]


def _pick(
    harm: npt.NDArray[np.float64],
    values: Mapping[str, npt.NDArray[Any]],
    describe: Describe,
    n: int,
    labels: Mapping[str, str] | None,
) -> _Picked:
    """Choose up to ``n`` harmful features per row and word them, one feature at a time."""
    count = check_reason_count(n)
    order = np.argsort(-harm, axis=1, kind="stable")[:, :count]
    amount = np.take_along_axis(harm, order, axis=1)
    shown = amount > 0.0
    value = np.full(order.shape, "", dtype=TEXT)
    text = np.full(order.shape, "", dtype=TEXT)
    names = list(values)
    for j in np.unique(order[shown]).tolist():
        rows, ks = np.nonzero(shown & (order == j))
        words = value_texts(np.asarray(values[names[j]])[rows])
        value[rows, ks] = words
        text[rows, ks] = describe((labels or {}).get(names[j], names[j]), words, amount[rows, ks])
    return _Picked(order, amount, shown, value, text)


def _as_reasons(picked: _Picked, values: Mapping[str, npt.NDArray[Any]]) -> list[list[Reason]]:
    names = list(values)
    result: list[list[Reason]] = [[] for _ in range(len(picked.order))]
    for k in range(picked.order.shape[1]):
        for i in np.flatnonzero(picked.shown[:, k]):
            result[i].append(
                Reason(
                    names[picked.order[i, k]],
                    str(picked.value[i, k]),
                    float(picked.amount[i, k]),
                    str(picked.text[i, k]),
                )
            )
    return result


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
    shown = {str(name): values[name].to_numpy() for name in harm.columns}
    return _as_reasons(_pick(harm.to_numpy(dtype=np.float64), shown, describe, n, labels), shown)
