"""Adverse-action reasons: why an applicant's score was low, in words they can read.

Both credit models explain a row as one number per feature, positive where that feature
hurt the applicant (points lost for the scorecard, log-odds of bad added for the
gradient-boosting model). The features that hurt become reasons, most adverse first, at
most :data:`MAX_REASONS` of them (the four principal reasons of adverse-action notices).

Reasons are picked for a whole batch at once (one sort of the harm matrix, texts built
per feature column) because batch scoring explains every row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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
        picked = _pick(self.harm, self.values, self.describe, n, labels)
        out = np.full(picked.at.shape, "", dtype=TEXT)
        present = picked.at >= 0
        out[present] = picked.text[picked.at[present]]
        return out

    def joined(
        self,
        n: int = MAX_REASONS,
        labels: Mapping[str, str] | None = None,
        first: Mapping[int, Sequence[str]] | None = None,
    ) -> pa.ChunkedArray:
        """Return each row's reason texts joined by ``" | "`` ("" where there is none).

        The same texts, in the same order, as :meth:`reasons`; ``first`` gives, by row
        position, texts that come before that row's model reasons (a policy's
        reasons), and those rows keep at most ``n`` texts in all. The rows are put
        together in Arrow (a take per reason slot and one join), not one Python string
        at a time, because batch scoring explains every row.
        """
        picked = _pick(self.harm, self.values, self.describe, n, labels)
        at, texts = picked.at, picked.text
        if first:
            at, texts = _lead_with(at, texts, first)
        present = at >= 0
        # a text follows " | " when the row has a text in an earlier slot
        follows = np.zeros_like(present)
        follows[:, 1:] = np.logical_or.accumulate(present, axis=1)[:, :-1]
        size = len(texts)
        table = pa.chunked_array(
            [*_arrow(texts), *_arrow(SEPARATOR + texts), pa.array([""], pa.string())]
        )
        index = np.where(present, at + follows * size, 2 * size)
        slots = [table.take(pa.array(index[:, k])) for k in range(index.shape[1])]
        return pc.binary_join_element_wise(*slots, "")


FEW = 16
"""Up to this many reasons of one feature are worded one by one, not by distinct value."""

SEPARATOR = " | "
"""Between a row's reason texts where they are given as one text (batch scoring)."""


def _arrow(texts: npt.NDArray[Any]) -> list[pa.StringArray]:
    """Return a ``StringDType`` array as Arrow string arrays (Arrow may cut it in chunks)."""
    converted = pa.array(texts, pa.string())
    return converted.chunks if isinstance(converted, pa.ChunkedArray) else [converted]


class _Picked(NamedTuple):
    """Up to ``n`` harmful features per row, worded.

    ``order`` and ``amount`` are rows by slots (feature index, harm); ``at`` is the
    position of each slot's reason in ``value`` and ``text`` (flat, one entry per
    reason given), -1 where the slot gives none.
    """

    order: npt.NDArray[np.intp]
    amount: npt.NDArray[np.float64]
    at: npt.NDArray[np.intp]
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
    at = np.full(order.shape, -1, dtype=np.intp)
    value: list[npt.NDArray[Any]] = [np.zeros(0, dtype=TEXT)]
    text: list[npt.NDArray[Any]] = [np.zeros(0, dtype=TEXT)]
    names = list(values)
    start = 0
    # the shown slots grouped by feature, each group in row order
    slots = np.flatnonzero(shown)
    slots = slots[np.argsort(order.ravel()[slots], kind="stable")]
    features = order.ravel()[slots]
    bounds = np.flatnonzero(np.diff(features)) + 1
    for group in np.split(slots, bounds) if len(slots) else []:
        j = int(order.ravel()[group[0]])
        rows, ks = np.divmod(group, order.shape[1])
        raw, lost = np.asarray(values[names[j]])[rows], amount[rows, ks]
        # word each distinct (value, amount) once: few for categories and binned points
        codes, first = _distinct_pairs(raw, lost)
        words = value_texts(raw[first])
        value.append(words)
        text.append(describe((labels or {}).get(names[j], names[j]), words, lost[first]))
        at[rows, ks] = start + codes
        start += len(first)
    return _Picked(order, amount, at, np.concatenate(value), np.concatenate(text))


def _distinct_pairs(
    raw: npt.NDArray[Any], lost: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Return each item's (value, amount) pair number and each number's first item.

    Missing values (None, NaN) are one value, as :func:`value_texts` words them all "missing".
    A few items (one applicant's) are numbered one by one: hashing them costs more
    than wording them.
    """
    if len(raw) <= FEW:
        every = np.arange(len(raw), dtype=np.intp)
        return every, every
    value_codes, _ = pd.factorize(raw, use_na_sentinel=True)
    lost_codes, lost_uniques = pd.factorize(lost)
    pair = (value_codes.astype(np.int64) + 1) * len(lost_uniques) + lost_codes
    codes, uniques = pd.factorize(pair)
    first = np.empty(len(uniques), dtype=np.intp)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes.astype(np.intp), first


def _lead_with(
    at: npt.NDArray[np.intp], texts: npt.NDArray[Any], first: Mapping[int, Sequence[str]]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
    """Put ``first[i]`` before row ``i``'s texts, keeping as many texts as ``at`` has slots."""
    at = at.copy()
    extra: list[str] = []
    width = at.shape[1]
    for i, lead in first.items():
        slots = [len(texts) + len(extra) + k for k in range(len(lead))]
        extra.extend(lead)
        slots.extend(int(x) for x in at[i] if x >= 0)
        kept = slots[:width]
        at[i] = kept + [-1] * (width - len(kept))
    return at, np.concatenate([texts, np.array(extra, dtype=TEXT)])


def _as_reasons(picked: _Picked, values: Mapping[str, npt.NDArray[Any]]) -> list[list[Reason]]:
    names = list(values)
    order = picked.order.tolist()
    amount = picked.amount.tolist()
    value = picked.value.tolist()
    text = picked.text.tolist()
    result: list[list[Reason]] = []
    for i, row in enumerate(picked.at.tolist()):
        result.append(
            [
                Reason(names[order[i][k]], value[x], amount[i][k], text[x])
                for k, x in enumerate(row)
                if x >= 0
            ]
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
