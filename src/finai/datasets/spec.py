"""Dataset specs, table loading and the checks between raw tables and models.

One definition of each feature for training and serving: :func:`prepare` turns a
training table into features and a 0/1 target, and :func:`check_scoring_frame` turns
new rows into the same features, with the same conversions.

Conventions of the prepared features:

* numeric features are ``float64``, missing values are ``NaN``;
* categorical features are ``object`` columns of stripped Python ``str``; missing
  values (including empty text) are ``NaN``. Whole numbers read as categories are
  written without a decimal part (``2.0`` becomes ``"2"``), booleans as ``"True"``
  and ``"False"``;
* feature columns are ordered numeric first, then categorical, each in the order
  the spec records them (:attr:`DatasetSpec.features`).

Row numbers in messages count data rows from 1 (the first row after a CSV header).
"""

from __future__ import annotations

import csv
import math
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd
import yaml

from finai.exceptions import ValidationError

__all__ = [
    "DatasetSpec",
    "PreparedData",
    "check_scoring_frame",
    "load_table",
    "prepare",
]

PathLike: TypeAlias = str | Path
LOOKS_NUMERIC = 0.9
"""Share of numbers above which a text column is taken for a dirty numeric column."""

MAX_LABEL = 80
"""Longest plain-words name of a column, in characters."""

_FIELDS = (
    "target",
    "bad",
    "id",
    "drop",
    "protected",
    "categorical",
    "numeric",
    "monotone",
    "labels",
)
_DIRECTIONS = {"+1": 1, "1": 1, "-1": -1, "increasing": 1, "decreasing": -1}
_BAD_WORDS = {
    frozenset({"good", "bad"}): "bad",
    frozenset({"yes", "no"}): "yes",
    frozenset({"true", "false"}): "true",
    frozenset({"0", "1"}): "1",
}


# -- the spec -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSpec:
    """What the columns of a training table mean.

    Parameters
    ----------
    target
        The column with the outcome (two distinct values, no missing values).
    bad
        The target value that means bad (default), as text: ``"1"``, ``"2"``,
        ``"bad"``, ``"True"``. ``None`` infers it for 0/1, True/False, good/bad
        and yes/no targets. Text matches numbers by value (``"2"`` matches ``2.0``).
    id
        An optional column of unique row ids; never a feature.
    drop
        Columns to ignore.
    protected
        Columns never used as features but kept for fairness reports (sex, age, …).
    categorical, numeric
        Declared feature types. A declared column takes that type and the other
        columns are inferred from their dtype (numbers are numeric; text, category
        and bool are categorical; text that is all numbers is numeric). When both
        are given, the features are exactly these columns: the spec that
        :func:`prepare` returns records the whole schema this way.
    monotone
        Declared monotone direction per numeric feature: ``+1`` when the PD rises
        with the value, ``-1`` when it falls. The words ``"increasing"`` and
        ``"decreasing"`` (and the texts ``"+1"``, ``"-1"``) are read as +1 and -1.
    labels
        Plain-words names of feature or protected columns for reason texts and
        reports, e.g. ``{"checking": "Checking account status"}``: text of 1 to
        :data:`MAX_LABEL` characters (stripped), no control characters, no two alike.
        A label for the target, the id, a dropped column or (when the schema is
        declared) an undeclared column is refused here; one for a column that is not
        in the table, by :func:`prepare`.

    Raises
    ------
    ValidationError
        When a column is given two roles, a monotone direction is not +1 or -1, or a
        label is not a valid name of a feature or protected column (``field`` is the
        label's column).

    Examples
    --------
    >>> spec = DatasetSpec(target="default", bad="1", id="loan_id", protected=("sex",))
    >>> DatasetSpec.from_dict(spec.to_dict()) == spec
    True
    """

    target: str
    bad: str | None = None
    id: str | None = None
    drop: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    categorical: tuple[str, ...] | None = None
    numeric: tuple[str, ...] | None = None
    monotone: dict[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not self.target:
            raise ValidationError("target must name a column", field="target")
        if self.bad is not None and not isinstance(self.bad, str):
            object.__setattr__(self, "bad", _value_text(self.bad))
        for name in ("drop", "protected", "categorical", "numeric"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _names_tuple(value, name))
        object.__setattr__(self, "monotone", _monotone(self.monotone))
        object.__setattr__(self, "labels", _labels(self.labels))
        self._check_roles()

    def __hash__(self) -> int:
        monotone = tuple(sorted(self.monotone.items()))
        labels = tuple(sorted(self.labels.items()))
        return hash((self.target, self.bad, self.id, self.drop, self.protected, monotone, labels))

    def __setstate__(self, state: dict[str, object]) -> None:
        """Restore a pickled spec; one pickled before ``labels`` existed gets none."""
        self.__dict__.update({"labels": {}, **state})

    def _check_roles(self) -> None:
        roles: dict[str, str] = {self.target: "target"}
        if self.id is not None:
            if self.id in roles:
                raise ValidationError(f"column {self.id!r} cannot be id and target", field="id")
            roles[self.id] = "id"
        for kind in ("drop", "protected", "categorical", "numeric"):
            for name in getattr(self, kind) or ():
                if name in roles and roles[name] != kind:
                    raise ValidationError(
                        f"column {name!r} cannot be both {roles[name]} and {kind}", field=kind
                    )
                roles[name] = kind
        for name in self.monotone:
            if roles.get(name, "numeric") != "numeric":
                raise ValidationError(
                    f"monotone column {name!r} must be a numeric feature, not {roles[name]}",
                    field="monotone",
                )
        schema = self.numeric is not None and self.categorical is not None
        for name in self.labels:
            role = roles.get(name, "ignored" if schema else "feature")
            if role in ("target", "id", "drop", "ignored"):
                raise ValidationError(
                    f"label of column {name!r}: only feature and protected columns take"
                    f" labels, and {name!r} is {_ROLE_WORDS[role]}",
                    field=name,
                )

    @property
    def features(self) -> tuple[str, ...]:
        """Feature columns in model order: numeric, then categorical.

        Raises
        ------
        ValidationError
            When the schema is not recorded (``numeric`` or ``categorical`` is None).
        """
        if self.numeric is None or self.categorical is None:
            raise ValidationError(
                "the spec has no schema yet; use the spec returned by prepare()",
                field="spec",
            )
        return self.numeric + self.categorical

    def to_dict(self) -> dict[str, object]:
        """Return plain YAML/JSON-safe values; keys are the field names."""
        return {
            "target": self.target,
            "bad": self.bad,
            "id": self.id,
            "drop": list(self.drop),
            "protected": list(self.protected),
            "categorical": None if self.categorical is None else list(self.categorical),
            "numeric": None if self.numeric is None else list(self.numeric),
            "monotone": dict(self.monotone),
            "labels": dict(self.labels),
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, object], overrides: Mapping[str, object] | None = None
    ) -> DatasetSpec:
        """Build a spec from :meth:`to_dict` output or a parsed YAML mapping.

        Parameters
        ----------
        data
            Keys are the field names; a missing key or ``None`` takes the default.
            ``monotone`` is a mapping of column to direction, or a list of
            ``"COLUMN=DIRECTION"`` texts (the command-line form, e.g. ``"income=-1"``).
        overrides
            Values that replace those of ``data`` key by key (command-line flags or
            form fields given explicitly); ``None`` values are skipped. A replaced
            list is replaced whole, not extended.

        Raises
        ------
        ValidationError
            For unknown keys, a missing target, values of the wrong type or the
            contradictions the constructor refuses; ``field`` names the key.

        Examples
        --------
        >>> spec = DatasetSpec.from_dict(
        ...     {"target": "y", "protected": ["sex"]}, {"protected": ["age"], "bad": None}
        ... )
        >>> spec.protected, spec.bad
        (('age',), None)
        """
        if overrides:
            data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
        unknown = sorted(str(key) for key in data if key not in _FIELDS)
        if unknown:
            raise ValidationError(
                f"unknown spec keys {_listing(unknown)}; known keys are {', '.join(_FIELDS)}",
                field=unknown[0],
            )
        target = data.get("target")
        if target is None or not _is_scalar(target):
            raise ValidationError(
                "spec needs target: the name of the outcome column", field="target"
            )
        optional = {key: data.get(key) for key in ("bad", "id")}
        if optional["id"] is not None and not _is_scalar(optional["id"]):
            raise ValidationError("id must name one column", field="id")
        if optional["bad"] is not None and not _is_scalar(optional["bad"]):
            raise ValidationError("bad must be one target value", field="bad")
        labels = data.get("labels") or {}
        if not isinstance(labels, Mapping):
            raise ValidationError(
                "labels must map column names to plain-words names", field="labels"
            )
        return cls(
            target=str(target),
            bad=None if optional["bad"] is None else _value_text(optional["bad"]),
            id=None if optional["id"] is None else str(optional["id"]),
            drop=_names_tuple(data.get("drop") or (), "drop"),
            protected=_names_tuple(data.get("protected") or (), "protected"),
            categorical=_optional_names(data.get("categorical"), "categorical"),
            numeric=_optional_names(data.get("numeric"), "numeric"),
            monotone=_monotone(_monotone_entries(data.get("monotone") or {})),
            labels={str(k): v for k, v in labels.items()},
        )

    @classmethod
    def from_yaml(
        cls, path: PathLike, overrides: Mapping[str, object] | None = None
    ) -> DatasetSpec:
        """Read a spec from a YAML file whose keys are the field names.

        Parameters
        ----------
        path
            A UTF-8 YAML file holding one mapping.
        overrides
            As in :meth:`from_dict`: values that replace the file's; ``None`` is skipped.

        Raises
        ------
        ValidationError
            When the file is missing, is not YAML, or does not describe a spec.
        """
        source = Path(path)
        shown = repr(str(source))
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValidationError(f"spec file {shown} does not exist", field="spec") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = _first_line(exc)
            raise ValidationError(f"cannot read spec {shown}: {reason}", field="spec") from None
        return cls.from_dict(_yaml_mapping(text, f"spec {shown}"), overrides)

    @classmethod
    def from_yaml_text(
        cls, text: str, overrides: Mapping[str, object] | None = None
    ) -> DatasetSpec:
        """Read a spec from YAML text, as :meth:`from_yaml` reads a file.

        Raises
        ------
        ValidationError
            When the text is not YAML or does not describe a spec (``field="spec"``
            for YAML errors, else the offending key).

        Examples
        --------
        >>> DatasetSpec.from_yaml_text("{target: y, labels: {dti: Debt to income}}").labels
        {'dti': 'Debt to income'}
        """
        return cls.from_dict(_yaml_mapping(text, "spec"), overrides)


_ROLE_WORDS = {
    "target": "the target",
    "id": "the id",
    "drop": "dropped",
    "ignored": "not among the declared categorical and numeric columns",
}


def _yaml_mapping(text: str, shown: str) -> Mapping[str, object]:
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = _short(str(exc.problem or exc.context or "not YAML"), 160)
        raise ValidationError(f"cannot read {shown}: {reason}{where}", field="spec") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: e.g. a date like 2024-13-01
        reason = _first_line(exc)
        raise ValidationError(f"cannot read {shown}: {reason}", field="spec") from None
    except RecursionError:
        raise ValidationError(f"cannot read {shown}: nested too deeply", field="spec") from None
    if not isinstance(data, Mapping):
        raise ValidationError(f"{shown} must be a YAML mapping", field="spec")
    return data


def _names_tuple(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a list of column names", field=name)
    items = list(value)
    if not all(_is_scalar(item) for item in items):
        raise ValidationError(f"{name} must be a list of column names", field=name)
    names = tuple(str(item) for item in items)
    if len(set(names)) != len(names):
        raise ValidationError(f"{name} lists a column twice", field=name)
    return names


def _is_scalar(value: object) -> bool:
    """Whether ``value`` can name a column or be a target value (not a list or mapping)."""
    return isinstance(value, str | int | float | np.generic)


def _shown(value: object) -> str:
    """Repr of a scalar, shortened; only the type of anything else (it may be huge)."""
    if isinstance(value, str):
        return repr(_short(value))
    return _short(str(value)) if _is_scalar(value) else type(value).__name__


def _optional_names(value: object, name: str) -> tuple[str, ...] | None:
    return None if value is None else _names_tuple(value, name)


def _monotone(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValidationError("monotone must map column names to +1 or -1", field="monotone")
    result: dict[str, int] = {}
    for key, given in value.items():
        direction = _direction(given)
        if direction is None:
            raise ValidationError(
                f"monotone direction of {str(key)!r} must be +1 or -1, got {_shown(given)}",
                field="monotone",
            )
        result[str(key)] = direction
    return result


def _direction(value: object) -> int | None:
    if isinstance(value, str):
        return _DIRECTIONS.get(value.strip().lower())
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return None
    return int(value) if value in (1, -1) else None


def _monotone_entries(value: object) -> Mapping[object, object]:
    """Return a mapping as it is, and ``["income=-1", …]`` as ``{"income": "-1", …}``."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        raise ValidationError("monotone must map column names to +1 or -1", field="monotone")
    result: dict[object, object] = {}
    for item in value:
        column, equals, direction = item.rpartition("=") if isinstance(item, str) else ("", "", "")
        column = column.strip()
        if not equals or not column:
            raise ValidationError(
                f"monotone must map column names to +1 or -1; the entry {_shown(item)}"
                " does not read COLUMN=+1 or COLUMN=-1",
                field="monotone",
            )
        if column in result:
            raise ValidationError(f"monotone lists column {column!r} twice", field="monotone")
        result[column] = direction
    return result


def _labels(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValidationError("labels must map column names to plain-words names", field="labels")
    result: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key, given in value.items():
        column = str(key)
        if not isinstance(given, str):
            raise ValidationError(
                f"label of column {column!r} must be text, got {type(given).__name__}"
                " (quote it in YAML)",
                field=column,
            )
        label = given.strip()
        if not label:
            raise ValidationError(f"label of column {column!r} is empty", field=column)
        if len(label) > MAX_LABEL:
            raise ValidationError(
                f"label of column {column!r} has {len(label)} characters; at most {MAX_LABEL}",
                field=column,
            )
        if any(unicodedata.category(char) == "Cc" for char in label):
            raise ValidationError(
                f"label of column {column!r} contains a control character", field=column
            )
        twin = seen.setdefault(label.casefold(), column)
        if twin != column:
            raise ValidationError(
                f"columns {twin!r} and {column!r} have the same label; labels must tell"
                " columns apart",
                field=column,
            )
        result[column] = label
    return result


# -- loading tables -----------------------------------------------------------------------

_CSV = {".csv": ",", ".tsv": "\t", ".txt": None}
_PARQUET = (".parquet", ".pq")


def load_table(path: PathLike) -> pd.DataFrame:
    """Read a CSV or Parquet table.

    Parameters
    ----------
    path
        A ``.csv``, ``.tsv`` or ``.txt`` file (optionally ``.gz``-compressed; ``.txt``
        has its delimiter sniffed) or a ``.parquet`` / ``.pq`` file. Text is read as
        UTF-8 (a byte-order mark is ignored), falling back to Latin-1.

    Returns
    -------
    pandas.DataFrame
        The table as read, at least one row and one column.

    Raises
    ------
    ValidationError
        For a missing file, an unknown extension, or a file that is empty or unreadable.
    """
    source = Path(path)
    shown = repr(str(source))
    suffixes = [s.lower() for s in source.suffixes[-2:]]
    ext = suffixes[-2] if suffixes[-1:] == [".gz"] and len(suffixes) == 2 else source.suffix
    ext = ext.lower()
    if ext not in _CSV and ext not in _PARQUET:
        raise ValidationError(
            f"cannot read {shown}: unknown file type; use .csv, .csv.gz, .tsv, .txt,"
            " .parquet or .pq",
            field="data",
        )
    if not source.exists():
        raise ValidationError(f"data file {shown} does not exist", field="data")
    if not source.is_file():
        raise ValidationError(f"data path {shown} is not a file", field="data")
    kind = "Parquet" if ext in _PARQUET else "CSV"
    try:
        frame = pd.read_parquet(source) if ext in _PARQUET else _read_text(source, _CSV[ext])
    except pd.errors.EmptyDataError:
        raise ValidationError(f"data file {shown} is empty", field="data") from None
    except (OSError, ValueError, EOFError, NotImplementedError, csv.Error) as exc:
        reason = _first_line(exc)
        raise ValidationError(f"cannot read {shown} as {kind}: {reason}", field="data") from None
    if frame.shape[1] == 0 or len(frame) == 0:
        raise ValidationError(f"data file {shown} has no rows", field="data")
    return frame


def _read_text(source: Path, sep: str | None) -> pd.DataFrame:
    def read(encoding: str) -> pd.DataFrame:
        if sep is None:
            return pd.read_csv(source, sep=None, engine="python", encoding=encoding)
        return pd.read_csv(source, sep=sep, low_memory=False, encoding=encoding)

    try:
        return read("utf-8-sig")
    except UnicodeDecodeError:
        return read("latin-1")


# -- preparing training data --------------------------------------------------------------


@dataclass(frozen=True)
class PreparedData:
    """A training table split into what models, reports and lineage need.

    Attributes
    ----------
    X
        Features only, ordered as ``spec.features``: numeric as ``float64``,
        categorical as ``object`` text (see the module docstring). Index 0..n-1.
    y
        ``int64`` array of 0/1, 1 = bad.
    ids
        The id column (index 0..n-1), or None without one.
    protected
        The protected columns as they were, possibly no columns; index 0..n-1.
    spec
        The spec with ``bad``, ``categorical`` and ``numeric`` filled in.
    """

    X: pd.DataFrame
    y: np.ndarray
    ids: pd.Series | None
    protected: pd.DataFrame
    spec: DatasetSpec


def prepare(frame: pd.DataFrame, spec: DatasetSpec) -> PreparedData:
    """Validate a training table and split it into features, target, ids and protected.

    Parameters
    ----------
    frame
        The raw table, e.g. from :func:`load_table`.
    spec
        What the columns mean.

    Returns
    -------
    PreparedData
        Features, 0/1 target (1 = bad), ids, protected columns and the filled-in spec.

    Raises
    ------
    ValidationError
        Naming the column and the reason: a column of the spec missing from the table,
        a target with missing values or not exactly two values, an unknown ``bad``
        value, infinite numbers, a numeric column with text, no features, duplicate ids.

    Examples
    --------
    >>> frame = pd.DataFrame({"income": [1.0, 2.0], "city": ["a", "b"], "bad": [0, 1]})
    >>> data = prepare(frame, DatasetSpec(target="bad"))
    >>> data.spec.numeric, data.spec.categorical, data.y.tolist()
    (('income',), ('city',), [0, 1])
    """
    table = _with_text_names(frame)
    if len(table) == 0:
        raise ValidationError("the table has no rows", field="data")
    _require_columns(table, spec)
    y, bad = _target(table[spec.target], spec)
    ids = _ids(table[spec.id], spec.id) if spec.id is not None else None
    numeric, categorical = _schema(table, spec)
    if not numeric and not categorical:
        raise ValidationError(
            "no feature columns left after removing target, id, dropped and protected columns",
            field="features",
        )
    _check_monotone(spec, numeric)
    filled = DatasetSpec(
        target=spec.target,
        bad=bad,
        id=spec.id,
        drop=spec.drop,
        protected=spec.protected,
        categorical=categorical,
        numeric=numeric,
        monotone=dict(spec.monotone),
        labels=dict(spec.labels),
    )
    X = _features(table, filled)
    protected = table.loc[:, list(spec.protected)].reset_index(drop=True)
    return PreparedData(X=X, y=y, ids=ids, protected=protected, spec=filled)


def _with_text_names(frame: pd.DataFrame, needed: Collection[str] | None = None) -> pd.DataFrame:
    """Copy with ``str`` column names and index 0..n-1; refuse duplicated needed names."""
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError("data must be a table (pandas DataFrame)", field="data")
    names = pd.Index([str(name) for name in frame.columns], dtype=object)
    repeated = names[names.duplicated()]
    for name in repeated:
        if needed is None or name in needed:
            raise ValidationError(f"column {name!r} appears more than once", field=name)
    table = frame.set_axis(names, axis=1).reset_index(drop=True)
    return table.loc[:, ~names.duplicated()] if len(repeated) else table


def _require_columns(table: pd.DataFrame, spec: DatasetSpec) -> None:
    wanted: list[tuple[str, str]] = [("target", spec.target)]
    if spec.id is not None:
        wanted.append(("id", spec.id))
    for kind in ("drop", "protected", "categorical", "numeric"):
        wanted.extend((kind, name) for name in getattr(spec, kind) or ())
    wanted.extend(("monotone", name) for name in spec.monotone)
    wanted.extend(("labelled", name) for name in spec.labels)
    for kind, name in wanted:
        if name not in table.columns:
            raise ValidationError(
                f"{kind} column {name!r} is not in the table; columns are"
                f" {_listing(table.columns)}",
                field=name,
            )


def _target(column: pd.Series, spec: DatasetSpec) -> tuple[np.ndarray, str]:
    name = spec.target
    missing = column.isna().to_numpy()
    if _is_text(column):
        text = _as_text(column)
        missing = text.isna().to_numpy()
        values = text
    else:
        values = column
    if missing.any():
        raise ValidationError(
            f"target {name!r} has {_count(missing, 'missing value')}"
            f" (first at row {_row(missing)}); remove those rows or fill them",
            field=name,
        )
    found = _distinct(values)
    shown = _listing([_value_text(v) for v in found])
    if len(found) < 2:
        raise ValidationError(
            f"target {name!r} has one value only ({shown}); need both good and bad rows",
            field=name,
        )
    if len(found) > 2:
        raise ValidationError(
            f"target {name!r} has {len(found)} distinct values ({shown}); need exactly two",
            field=name,
        )
    bad_value = _bad_value(found, spec.bad, name, shown)
    y = (values == bad_value).to_numpy(dtype=bool).astype(np.int64)
    return y, _value_text(bad_value)


def _distinct(values: pd.Series) -> list[object]:
    unique = list(pd.unique(values))
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def _bad_value(found: list[object], bad: str | None, name: str, shown: str) -> object:
    if bad is not None:
        for value in found:
            if _matches(value, bad):
                return value
        raise ValidationError(
            f"bad value {bad!r} is not a value of target {name!r} (found {shown})", field=name
        )
    words = {_value_text(v).lower(): v for v in found}
    chosen = _BAD_WORDS.get(frozenset(words))
    if chosen is None:
        raise ValidationError(
            f"cannot tell which value of target {name!r} means bad (found {shown});"
            " set bad (--bad VALUE) to one of them",
            field=name,
        )
    return words[chosen]


def _matches(value: object, bad: str) -> bool:
    text, wanted = _value_text(value), bad.strip()
    if text == wanted:
        return True
    if isinstance(value, bool | np.bool_):
        return wanted.lower() in ({"true", "1", "yes"} if value else {"false", "0", "no"})
    if wanted and text.lower() == wanted.lower():
        return True
    try:
        return float(text) == float(wanted)
    except ValueError:
        return False


def _ids(column: pd.Series, name: str) -> pd.Series:
    missing = column.isna().to_numpy()
    if missing.any():
        raise ValidationError(
            f"id column {name!r} has {_count(missing, 'missing value')}"
            f" (first at row {_row(missing)})",
            field=name,
        )
    duplicated = column.duplicated().to_numpy()
    if duplicated.any():
        raise ValidationError(
            f"id column {name!r} has {_count(duplicated, 'duplicate id')}"
            f" (first repeat at row {_row(duplicated)})",
            field=name,
        )
    return column.reset_index(drop=True)


def _schema(table: pd.DataFrame, spec: DatasetSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    declared_num = set(spec.numeric or ())
    declared_cat = set(spec.categorical or ())
    if spec.numeric is not None and spec.categorical is not None:
        candidates = [c for c in table.columns if c in declared_num or c in declared_cat]
    else:
        roles = {spec.target, spec.id, *spec.drop, *spec.protected}
        candidates = [c for c in table.columns if c not in roles]
    numeric: list[str] = []
    categorical: list[str] = []
    for name in candidates:
        empty = bool(table[name].isna().all())
        if empty and (name in declared_num or name in declared_cat):
            raise ValidationError(f"feature column {name!r} has no values", field=name)
        if empty:
            continue  # a column with no value at all tells a model nothing: not a feature
        if name in declared_num:
            numeric.append(name)
        elif name in declared_cat:
            categorical.append(name)
        elif _infer_numeric(table[name], name):
            numeric.append(name)
        else:
            categorical.append(name)
    return tuple(numeric), tuple(categorical)


def _infer_numeric(column: pd.Series, name: str) -> bool:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return False
    if (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype)
    ):
        raise ValidationError(
            f"column {name!r} holds dates or times ({dtype}); drop it or turn it into a number",
            field=name,
        )
    if pd.api.types.is_complex_dtype(dtype):
        raise ValidationError(f"column {name!r} holds complex numbers", field=name)
    if pd.api.types.is_numeric_dtype(dtype):
        return True
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    text = _as_text(column)
    present = text.notna().to_numpy()
    numbers = ~np.isnan(_parse_numbers(text))
    n_present, n_numbers = int(present.sum()), int(numbers.sum())
    if n_present == 0 or n_numbers == 0:
        return False
    if n_numbers == n_present:
        return True
    if n_numbers >= LOOKS_NUMERIC * n_present:
        stray = present & ~numbers
        raise ValidationError(
            f"column {name!r} looks numeric ({n_numbers} of {n_present} values are numbers)"
            f" but has text in {_count(stray, 'row')} (first at row {_row(stray)});"
            " fix those values, or declare the column categorical",
            field=name,
        )
    return False


def _check_monotone(spec: DatasetSpec, numeric: tuple[str, ...]) -> None:
    for name in spec.monotone:
        if name not in numeric:
            raise ValidationError(
                f"monotone column {name!r} is not a numeric feature", field="monotone"
            )


# -- features, shared by training and scoring ---------------------------------------------


def check_scoring_frame(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Check new rows against a trained model's spec and return its features.

    Parameters
    ----------
    frame
        Rows to score. Extra columns (the target, ids, anything else) are ignored.
    spec
        The spec returned by :func:`prepare` (with ``numeric`` and ``categorical``).

    Returns
    -------
    pandas.DataFrame
        Features in training order with the training conversions, the input's index.
        Missing values and unseen categories are kept for the model to handle.

    Raises
    ------
    ValidationError
        When feature columns are missing, a numeric column has text or infinite
        values, or an income column has a negative value.
    """
    names = spec.features
    table = _with_text_names(frame, needed=set(names))
    missing = [name for name in names if name not in table.columns]
    if missing:
        raise ValidationError(f"missing feature columns {_listing(missing)}", field=missing[0])
    columns = _feature_arrays(table, spec)
    for name in spec.numeric or ():
        negative = columns[name] < 0
        if "income" in name.lower() and negative.any():
            raise ValidationError(
                f"column {name!r} must not be negative (row {_row(negative)})", field=name
            )
    return pd.DataFrame(
        {
            name: pd.Series(values, index=frame.index, dtype=values.dtype)
            for name, values in columns.items()
        }
    )


def _features(table: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    index = pd.RangeIndex(len(table))
    columns = _feature_arrays(table, spec)
    return pd.DataFrame(
        {
            name: pd.Series(values, index=index, dtype=values.dtype)
            for name, values in columns.items()
        }
    )


def _feature_arrays(table: pd.DataFrame, spec: DatasetSpec) -> dict[str, np.ndarray]:
    """Numeric features as ``float64``, categorical ones as ``str`` in ``object`` arrays.

    Frames are built from them with explicit dtypes: pandas would otherwise store the
    categories in its own string type.
    """
    columns: dict[str, np.ndarray] = {}
    for name in spec.numeric or ():
        columns[name] = _as_number(table[name], name)
    for name in spec.categorical or ():
        columns[name] = _as_text(table[name]).to_numpy(dtype=object)
    return columns


def _as_number(column: pd.Series, name: str) -> np.ndarray:
    dtype = column.dtype
    if pd.api.types.is_complex_dtype(dtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or _is_text(column)
    ):
        raise ValidationError(f"numeric column {name!r} holds {dtype} values", field=name)
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
    else:
        text = _as_text(column)
        values = _parse_numbers(text)
        stray = text.notna().to_numpy() & np.isnan(values)
        if stray.any():
            raise ValidationError(
                f"numeric column {name!r} has text in {int(stray.sum())} of"
                f" {int(text.notna().sum())} values (first at row {_row(stray)})",
                field=name,
            )
    infinite = np.isinf(values)
    if infinite.any():
        raise ValidationError(
            f"numeric column {name!r} has {_count(infinite, 'infinite value')}"
            f" (first at row {_row(infinite)})",
            field=name,
        )
    return values


def _is_text(column: pd.Series) -> bool:
    dtype = column.dtype
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _as_text(column: pd.Series) -> pd.Series:
    """Return stripped ``str`` values as ``object``; missing and empty text become NaN."""
    values = column.astype(object).to_numpy(dtype=object, na_value=np.nan)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        codes, uniques = pd.factorize(values)
        texts = [_cell_text(value) for value in uniques]
    else:  # mixed Python objects: factorize would merge 1, 1.0 and True
        codes, texts = np.arange(len(values)), [_cell_text(value) for value in values]
    lookup = np.array([*texts, np.nan], dtype=object)
    return pd.Series(lookup[codes], index=column.index, dtype=object)


def _cell_text(value: object) -> object:
    text = "" if _is_missing(value) else _value_text(value).strip()
    return text or np.nan


def _parse_numbers(text: pd.Series) -> np.ndarray:
    """Return ``float64`` values of :func:`_as_text` output; NaN where missing or not a number."""
    codes, uniques = pd.factorize(text.to_numpy(dtype=object))
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce")
    return np.append(parsed.to_numpy(dtype="float64", na_value=np.nan), np.nan)[codes]


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _value_text(value: object) -> str:
    """Text of one value: whole floats without ``.0``, numpy scalars as Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- messages -----------------------------------------------------------------------------


def _count(mask: np.ndarray, noun: str) -> str:
    n = int(mask.sum())
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def _listing(names: Iterable[object], limit: int = 8) -> str:
    items = list(names)
    shown = ", ".join(repr(_short(str(item))) for item in items[:limit])
    if len(items) > limit:
        shown += f", … ({len(items) - limit} more)"
    return shown or "(none)"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return _short(lines[0], 160) if lines else type(exc).__name__
