"""The canonical transaction table that every fraud component reads.

:func:`normalise` turns any table of card transactions into one shape:

==================  ==========================  ==========================================
column              dtype                       rule
==================  ==========================  ==========================================
``transaction_id``  ``str``                     non-empty, unique
``timestamp``       ``datetime64[us, UTC]``     ISO 8601 text or date-times; naive = UTC
``customer_id``     ``str``                     non-empty (the card or customer)
``terminal_id``     ``str``                     non-empty
``amount``          ``float64``                 finite, >= 0
``is_fraud``        ``int8``                    optional; 0 or 1
==================  ==========================  ==========================================

Whole numbers read as ids become their text (``17`` and ``17.0`` both become
``"17"``); text is stripped of surrounding blanks. Other columns are kept as they
are, after the canonical ones. Rows are ordered by ``timestamp`` then
``transaction_id`` (compared as text) and numbered from 0. Times keep whole
microseconds (finer digits are dropped), the resolution of the event order of
:mod:`finai.fraud.features`.

Source tables name their columns as they like; :func:`parse_columns` reads the CLI
mapping ``--columns transaction_id=TX_ID,timestamp=TX_DATETIME,...`` and
:func:`columns_from_spec` the same mapping from a YAML dataset spec. Row numbers in
messages count data rows from 1 (the first row after a CSV header) in input order.
Messages name transaction ids and row numbers, never customer or terminal values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from finai.datasets.spec import load_table
from finai.exceptions import ValidationError

__all__ = [
    "AMOUNT",
    "CARD",
    "ID",
    "LABEL",
    "REQUIRED",
    "TERMINAL",
    "TIME",
    "columns_from_spec",
    "load_transactions",
    "normalise",
    "parse_columns",
]

ID = "transaction_id"
TIME = "timestamp"
CARD = "customer_id"
TERMINAL = "terminal_id"
AMOUNT = "amount"
LABEL = "is_fraud"
REQUIRED = (ID, TIME, CARD, TERMINAL, AMOUNT)
"""Columns every transaction table must have (after the ``--columns`` mapping)."""

_CANONICAL = (*REQUIRED, LABEL)
_BEYOND_MICROSECONDS = re.compile(r"(\.\d{6})\d+")
_UNKNOWN = -1  # a label not known yet; -2 marks a bad one


def parse_columns(text: str) -> dict[str, str]:
    """Parse a ``--columns`` flag into ``{canonical name: source column}``.

    Parameters
    ----------
    text
        Comma-separated ``canonical=source`` pairs, for example
        ``"transaction_id=TX_ID,timestamp=TX_DATETIME"``. Blanks around names are
        ignored; a source name may contain ``=`` (the first one splits).

    Returns
    -------
    dict of str to str
        The mapping in the order given.

    Raises
    ------
    ValidationError
        (``field="columns"``) for empty text or parts, a part without ``=``, an
        unknown canonical name, an empty source name, or a canonical or source name
        given twice.

    Examples
    --------
    >>> parse_columns("transaction_id=TX_ID, amount=TX_AMOUNT")
    {'transaction_id': 'TX_ID', 'amount': 'TX_AMOUNT'}
    """
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("--columns is empty; give name=COLUMN pairs", field="columns")
    mapping: dict[str, str] = {}
    for number, part in enumerate(text.split(","), start=1):
        name, equals, source = (piece.strip() for piece in part.partition("="))
        if not part.strip():
            raise ValidationError(f"--columns part {number} is empty", field="columns")
        if not equals:
            raise ValidationError(
                f"--columns part {number} {_shown(part.strip())} has no '='; write name=COLUMN",
                field="columns",
            )
        if name in mapping:
            raise ValidationError(f"--columns names {_shown(name)} twice", field="columns")
        mapping[name] = source
        _check_mapping(mapping)
    return mapping


def columns_from_spec(path: str | Path, columns: Mapping[str, str] | None = None) -> dict[str, str]:
    """Read the column mapping of a transaction dataset spec (YAML), ``columns`` on top.

    The spec names the source column of each canonical one under ``columns``::

        columns:
          transaction_id: TX_ID
          timestamp: TX_DATETIME
          amount: TX_AMOUNT

    Parameters
    ----------
    path
        The YAML file.
    columns
        Pairs given besides (``--columns``); they replace the spec's for the same names.

    Raises
    ------
    ValidationError
        (``field="spec"``) when the file cannot be read, is not YAML, or has no
        ``columns`` mapping of text to text; (``field="columns"``) as for
        :func:`parse_columns`.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read spec {str(path)!r}: {exc}", field="spec") from None
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"spec {str(path)!r} is not valid YAML: {exc}", field="spec"
        ) from None
    mapping = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise ValidationError(
            "spec must have a 'columns' mapping of canonical name to source column",
            field="spec",
        )
    merged = {**mapping, **(columns or {})}
    _check_mapping(merged)
    return merged


def normalise(frame: pd.DataFrame, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Validate a transaction table and return it in canonical form.

    Parameters
    ----------
    frame
        The transactions as read; left untouched.
    columns
        ``{canonical name: source column}`` for columns named differently in
        ``frame`` (see :func:`parse_columns`).

    Returns
    -------
    pandas.DataFrame
        A new frame: the canonical columns (``is_fraud`` only when present) with the
        dtypes of the module docstring, then the other columns unchanged; sorted by
        ``timestamp`` then ``transaction_id``, with a ``RangeIndex``.

    Raises
    ------
    ValidationError
        For an empty table, a bad mapping, a missing required column, or a bad
        value: the field names the column, the message the reason and the first bad
        row (a duplicated transaction id is named).

    Examples
    --------
    >>> raw = pd.DataFrame(
    ...     {"TX_ID": [2, 1], "TX_DATETIME": ["2026-04-01 10:00", "2026-04-01 09:00"],
    ...      "customer_id": [7, 7], "terminal_id": [17.0, 3.0], "amount": [12.5, 3]}
    ... )
    >>> normalise(raw, {"transaction_id": "TX_ID", "timestamp": "TX_DATETIME"})
      transaction_id                 timestamp customer_id terminal_id  amount
    0              1 2026-04-01 09:00:00+00:00           7           3     3.0
    1              2 2026-04-01 10:00:00+00:00           7          17    12.5
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(
            f"transactions must be a table, got {type(frame).__name__}", field="frame"
        )
    if len(frame) == 0:
        raise ValidationError("the transaction table has no rows", field="frame")
    table = _renamed(frame, dict(columns or {}))
    index = pd.RangeIndex(len(table))
    out: dict[str, pd.Series] = {
        ID: _text(table[ID], ID),
        TIME: _timestamps(table[TIME]),
        CARD: _text(table[CARD], CARD),
        TERMINAL: _text(table[TERMINAL], TERMINAL),
        AMOUNT: pd.Series(_amounts(table[AMOUNT]), index=index, dtype="float64"),
    }
    if LABEL in table.columns:
        out[LABEL] = pd.Series(_labels(table[LABEL]), index=index, dtype="Int8")
    _check_unique(out[ID])
    order = _order(out[TIME], out[ID])
    extras = {name: table[name] for name in table.columns if name not in _CANONICAL}
    return pd.DataFrame({name: _taken(column, order) for name, column in {**out, **extras}.items()})


def load_transactions(path: str | Path, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file of transactions and :func:`normalise` it.

    Parameters
    ----------
    path
        A file :func:`finai.datasets.spec.load_table` reads (``.csv``, ``.csv.gz``,
        ``.tsv``, ``.txt``, ``.parquet``, ``.pq``).
    columns
        ``{canonical name: source column}``, as for :func:`normalise`.

    Returns
    -------
    pandas.DataFrame
        The canonical transaction frame.

    Raises
    ------
    ValidationError
        When the file cannot be read (``field="data"``) or the table is invalid.

    Notes
    -----
    CSV columns are typed by pandas: an id column of digits is read as numbers, so
    leading zeros are lost (``"0017"`` becomes ``"17"``).
    """
    return normalise(load_table(path), columns)


# -- columns ------------------------------------------------------------------------------


def _check_mapping(mapping: Mapping[str, str]) -> None:
    sources: dict[str, str] = {}
    for name, source in mapping.items():
        if name not in _CANONICAL:
            raise ValidationError(
                f"--columns names unknown column {_shown(name)}; use {', '.join(_CANONICAL)}",
                field="columns",
            )
        if not isinstance(source, str) or not source:
            raise ValidationError(f"--columns gives no source column for {name}", field="columns")
        if source in sources:
            raise ValidationError(
                f"--columns maps {_shown(source)} to both {sources[source]} and {name}",
                field="columns",
            )
        sources[source] = name


def _renamed(frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    _check_mapping(mapping)
    present = set(frame.columns)
    for name, source in mapping.items():
        if source not in present:
            raise ValidationError(
                f"--columns maps {name} to {_shown(source)}, which is not in the table",
                field="columns",
            )
        if name != source and name in present and name not in mapping.values():
            raise ValidationError(
                f"the table has a column {name} and --columns maps {_shown(source)} to it;"
                " rename or drop one",
                field="columns",
            )
    table = frame.rename(columns={source: name for name, source in mapping.items()})
    for name in _CANONICAL:
        if int((table.columns == name).sum()) > 1:
            raise ValidationError(f"the table has more than one {name} column", field=name)
    for name in REQUIRED:
        if name not in table.columns:
            raise ValidationError(
                f"missing column {name}; name its source with --columns {name}=COLUMN",
                field=name,
            )
    return table


# -- values -------------------------------------------------------------------------------


def _text(column: pd.Series, name: str) -> pd.Series:
    """Return stripped text as ``str``; ids read as whole numbers lose their ``.0``."""
    values = column.astype(object) if pd.api.types.is_bool_dtype(column.dtype) else column
    if isinstance(values.dtype, pd.StringDtype):
        text = values.astype("str").str.strip()
    elif pd.api.types.is_integer_dtype(values.dtype):
        _no_missing(values.isna().to_numpy(), name)
        text = values.astype("str")
    elif pd.api.types.is_float_dtype(values.dtype):
        text = _float_text(values.to_numpy(dtype="float64", na_value=np.nan), name)
    else:
        cells = values.to_numpy(dtype=object)
        codes, uniques = pd.factorize(cells)
        lookup = np.array([*(_cell_text(value) for value in uniques), None], dtype=object)
        text = pd.Series(lookup[codes], dtype="str")
    text = text.set_axis(pd.RangeIndex(len(text)))
    _no_missing((text.isna() | (text.str.len() == 0)).to_numpy(), name)
    return text


def _float_text(values: np.ndarray, name: str) -> pd.Series:
    _no_missing(np.isnan(values), name)
    whole = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 2**63)
    if whole.all():
        return pd.Series(values.astype(np.int64)).astype("str")
    cells = np.array([_cell_text(value) for value in values.tolist()], dtype=object)
    return pd.Series(cells, dtype="str")


def _cell_text(value: object) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def _timestamps(column: pd.Series) -> pd.Series:
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        stamps = column.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        stamps = column.dt.tz_localize("UTC")
    elif isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype):
        codes, uniques = pd.factorize(column.to_numpy(dtype=object))
        cells = [_time_cell(value) for value in uniques]
        blank = [isinstance(cell, str) and not cell for cell in cells]
        _no_missing(np.array([*blank, True], dtype=bool)[codes], TIME)
        parsed = pd.to_datetime(
            pd.Series(
                [None if empty else cell for cell, empty in zip(cells, blank, strict=True)],
                dtype=object,
            ),
            utc=True,
            format="ISO8601",
            errors="coerce",
        )
        stamps = pd.Series(parsed.array.take(codes))
        failed = stamps.isna().to_numpy()
        if failed.any():
            raise ValidationError(
                f"column {TIME} has a value that is not an ISO 8601 date-time, such as"
                f" 2026-04-01T09:30:00Z (row {_row(failed)})",
                field=TIME,
            )
    else:
        raise ValidationError(
            f"column {TIME} holds {dtype} values; expected date-times or ISO 8601 text",
            field=TIME,
        )
    _no_missing(stamps.isna().to_numpy(), TIME)
    stamps = stamps.set_axis(pd.RangeIndex(len(stamps)))
    try:
        result: pd.Series = stamps.dt.as_unit("us")
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        outside = (~stamps.dt.year.between(1, 9999)).to_numpy()
        raise ValidationError(
            f"column {TIME} has a date-time outside the years 1-9999 (row {_row(outside)})",
            field=TIME,
        ) from None
    return result


def _time_cell(value: object) -> object:
    """Return a stripped string or date-time to parse, ``""`` if missing, None if neither."""
    if not _cell_text(value):
        return ""
    if isinstance(value, str):
        text = value.strip()
        return _BEYOND_MICROSECONDS.sub(r"\1", text) if "." in text else text
    return value if isinstance(value, date | np.datetime64) else None


def _amounts(column: pd.Series) -> np.ndarray:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
        raise ValidationError(f"column {AMOUNT} holds {dtype} values", field=AMOUNT)
    if pd.api.types.is_numeric_dtype(dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ValidationError(f"column {AMOUNT} holds {dtype} values", field=AMOUNT)
    else:
        cells = column.astype(object).to_numpy(dtype=object)
        codes, uniques = pd.factorize(cells)
        parsed = pd.to_numeric(
            pd.Series([_number_cell(value) for value in uniques], dtype=object), errors="coerce"
        )
        values = np.append(parsed.to_numpy(dtype="float64", na_value=np.nan), np.nan)[codes]
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = _row(bad)
        value = values[row - 1]
        reason = "is negative" if value < 0 else "is infinite" if np.isinf(value) else "is missing"
        if np.isnan(value) and not pd.api.types.is_numeric_dtype(dtype):
            reason = "is missing or not a number"
        raise ValidationError(f"column {AMOUNT} {reason} (row {row})", field=AMOUNT)
    return values


def _number_cell(value: object) -> object:
    if isinstance(value, bool | np.bool_):
        return None
    return value.strip() if isinstance(value, str) else value


def _labels(column: pd.Series) -> pd.arrays.IntegerArray:
    """0/1 labels, missing where not yet known (a chargeback may still come)."""
    cells = column.astype(object).to_numpy(dtype=object)
    codes, uniques = pd.factorize(cells)
    mapped = np.array([*(_label(value) for value in uniques), _UNKNOWN], dtype=np.int8)
    labels = mapped[codes]
    bad = labels < _UNKNOWN
    if bad.any():
        row = _row(bad)
        raise ValidationError(
            f"column {LABEL} must hold 0 or 1 (or True/False) or be empty;"
            f" found {_shown(str(_cell_text(cells[row - 1])))} (row {row})",
            field=LABEL,
        )
    unknown = labels == _UNKNOWN
    return pd.arrays.IntegerArray(np.where(unknown, 0, labels).astype(np.int8), unknown)


def _label(value: object) -> int:
    if not _cell_text(value):
        return _UNKNOWN
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        value = {"0": 0, "1": 1}.get(value.strip(), -2)
    if isinstance(value, bool | int | float) and value in (0, 1):
        return int(value)
    return -2


# -- rows ---------------------------------------------------------------------------------


def _check_unique(ids: pd.Series) -> None:
    repeated = ids.duplicated().to_numpy()
    if repeated.any():
        second = int(np.flatnonzero(repeated)[0])
        value = str(ids.iloc[second])
        first = int(np.flatnonzero((ids == value).to_numpy())[0])
        raise ValidationError(
            f"transaction id {_shown(value)} appears twice (rows {first + 1} and {second + 1})",
            field=ID,
        )


def _order(stamps: pd.Series, ids: pd.Series) -> np.ndarray:
    """Positions that sort rows by time, then id as text; ids are unique."""
    when = stamps.dt.tz_localize(None).to_numpy().view(np.int64)  # whole microseconds
    text = ids.array
    if len(when) < 2:
        return np.arange(len(when))
    later = when[1:] > when[:-1]
    same = when[1:] == when[:-1]
    if (later | (same & np.asarray(text[1:] > text[:-1], dtype=bool))).all():
        return np.arange(len(when))
    order = np.argsort(when, kind="stable")
    ordered = when[order]
    equal = ordered[1:] == ordered[:-1]
    tied = np.zeros(len(ordered), dtype=bool)
    tied[1:] |= equal
    tied[:-1] |= equal
    if tied.any():
        rows = order[tied]
        keys = ids.to_numpy(dtype=object)[rows]
        order[tied] = rows[np.lexsort((keys, ordered[tied]))]
    return order


def _taken(column: pd.Series, order: np.ndarray) -> pd.Series:
    return column.iloc[order].reset_index(drop=True)


# -- messages -----------------------------------------------------------------------------


def _no_missing(mask: np.ndarray, name: str) -> None:
    if mask.any():
        raise ValidationError(
            f"column {name} has a missing or empty value (row {_row(mask)})", field=name
        )


def _row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
