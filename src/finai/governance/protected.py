"""Protected attributes: a column taken as categories, or banded at declared cut points.

``ProtectedAttribute.parse("age:25,40")`` reads the command-line form; ``groups``
turns a column into each row's group and the group labels in report order.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from finai.exceptions import ValidationError

MISSING = "(missing)"
"""The group of rows whose protected value is missing."""

_CUTS = re.compile(r"[0-9eE.,+\- ]+")


@dataclass(frozen=True)
class ProtectedAttribute:
    """A protected column, taken as categories or banded at cut points.

    Parameters
    ----------
    column
        The column of the table (it need not be a model feature).
    cuts
        Strictly increasing, finite cut points; empty for categories. Cuts ``(25,)``
        give the bands ``"<25"`` and ``">=25"``; ``(25, 40, 60)`` give ``"<25"``,
        ``"25-40"`` (25 <= value < 40), ``"40-60"`` and ``">=60"``.

    Raises
    ------
    ValidationError
        For an empty column name or cut points that are not finite and increasing.

    Examples
    --------
    >>> ProtectedAttribute.parse("age:25,40").bands
    ('<25', '25-40', '>=40')
    """

    column: str
    cuts: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.column:
            raise ValidationError("a protected attribute must name a column", field="protected")
        cuts = tuple(float(c) for c in self.cuts)
        if not all(math.isfinite(c) for c in cuts):
            raise ValidationError(
                f"cut points of {self.column!r} must be finite numbers", field=self.column
            )
        if any(b <= a for a, b in itertools.pairwise(cuts)):
            raise ValidationError(
                f"cut points of {self.column!r} must be strictly increasing, got"
                f" {', '.join(_number_text(c) for c in cuts)}",
                field=self.column,
            )
        object.__setattr__(self, "cuts", cuts)

    @classmethod
    def parse(cls, text: str) -> ProtectedAttribute:
        """Read ``COL`` (categories) or ``COL:CUT[,CUT...]`` (numeric bands).

        Text after the last ``:`` is read as cut points when it holds only digits,
        signs, points, exponents, commas and spaces; otherwise the whole text is the
        column name.

        Raises
        ------
        ValidationError
            For ``COL:`` without cut points or cut points that are not numbers in
            increasing order (``field`` is the column).
        """
        column, colon, tail = text.rpartition(":")
        if not colon or not column:
            return cls(text)
        if not tail.strip():
            raise ValidationError(
                f"protected {text!r} has no cut points after ':'; write {column}:25 or"
                f" {column}:25,40,60",
                field=column,
            )
        if not _CUTS.fullmatch(tail):
            return cls(text)
        try:
            cuts = tuple(float(part) for part in tail.split(","))
        except ValueError:
            raise ValidationError(
                f"cut points of {column!r} must be numbers separated by commas, got {tail!r}",
                field=column,
            ) from None
        return cls(column, cuts)

    @property
    def bands(self) -> tuple[str, ...]:
        """Band labels in order; empty for categories."""
        if not self.cuts:
            return ()
        texts = [_number_text(c) for c in self.cuts]
        middle = (f"{a}-{b}" for a, b in itertools.pairwise(texts))
        return (f"<{texts[0]}", *middle, f">={texts[-1]}")

    def groups(self, column: pd.Series) -> tuple[npt.NDArray[np.intp], tuple[str, ...]]:
        """Return each row's group (index into the labels) and the group labels in order.

        Bands come in order (all of them, even empty ones), categories sorted (by
        number when every value is one), :data:`MISSING` last when a value is missing.

        Raises
        ------
        ValidationError
            When a banded column holds text or true/false values.
        """
        if self.cuts:
            return self._banded(column)
        return _categories(column)

    def _banded(self, column: pd.Series) -> tuple[npt.NDArray[np.intp], tuple[str, ...]]:
        name = self.column
        if pd.api.types.is_bool_dtype(column.dtype):
            raise ValidationError(
                f"protected column {name!r} holds true/false values; give it without cut"
                " points to take it as categories",
                field=name,
            )
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_complex_dtype(
            column.dtype
        ):
            values = column.to_numpy(dtype="float64", na_value=np.nan)
        else:
            text = column.astype(object).map(_cell_text)
            parsed = pd.to_numeric(text, errors="coerce")
            values = parsed.to_numpy(dtype="float64", na_value=np.nan)
            stray = text.notna().to_numpy() & np.isnan(values)
            if stray.any():
                first = int(np.flatnonzero(stray)[0]) + 1
                raise ValidationError(
                    f"protected column {name!r} has text in {int(stray.sum())} rows (first at"
                    f" row {first}); it cannot be banded at"
                    f" {', '.join(_number_text(c) for c in self.cuts)}: fix those values or give"
                    " it without cut points to take it as categories",
                    field=name,
                )
        missing = np.isnan(values)
        codes = np.searchsorted(np.asarray(self.cuts), values, side="right").astype(np.intp)
        labels = self.bands
        if missing.any():
            codes[missing] = len(labels)
            labels = (*labels, MISSING)
        return codes, labels


def _categories(column: pd.Series) -> tuple[npt.NDArray[np.intp], tuple[str, ...]]:
    codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
    texts = [_cell_text(value) for value in uniques]
    present = sorted({t for t in texts if t is not None}, key=_category_key(texts))
    labels = (*present, MISSING) if (codes < 0).any() or None in texts else tuple(present)
    position = {label: i for i, label in enumerate(labels)}
    lookup = np.array(
        [position[MISSING if t is None else t] for t in texts] + [position.get(MISSING, -1)],
        dtype=np.intp,
    )
    return lookup[codes], labels


def _category_key(texts: Sequence[str | None]) -> Any:
    numbers = {t: _as_float(t) for t in texts if t is not None}
    if all(v is not None for v in numbers.values()):
        return lambda t: (numbers[t], t)
    return lambda t: t


def _as_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _cell_text(value: object) -> str | None:
    """Text of one protected value: stripped, whole floats without ``.0``; None if missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    return text or None


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
