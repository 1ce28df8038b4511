"""Points scorecard: optimal binning, weight of evidence and a logistic regression.

Every characteristic (feature) is cut into bins by optbinning (numeric bins follow a
monotonic trend by default; categorical values are grouped), each bin gets its weight of
evidence (WoE) and a logistic regression on the WoE values gives one coefficient per
characteristic. The points of bin ``b`` of characteristic ``j`` are then

``points[j, b] = -factor * coef[j] * woe[j, b] + (offset - factor * intercept) / k``

with ``k`` characteristics, so the intercept is spread evenly and an applicant's points,
and nothing else, add up to the score. The PD is read back from the score through the
same :class:`~finai.credit.scaling.ScoreScaling`, so PD and score always agree.

Missing values score as the bin "Missing"; categories never seen in training score as
"Missing" too. A Missing bin that was empty in training has WoE 0 (the population's
odds), so such values earn the neutral share of points.

This module also holds the input contract both credit estimators share (column names,
types, the target): :class:`FeatureSchema`, :func:`fit_frame`, :func:`predict_frame`.
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from optbinning import BinningProcess
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from finai.credit.reasons import TEXT, Assessment, Reason, check_reason_count
from finai.credit.scaling import ScoreScaling
from finai.exceptions import ValidationError

__all__ = [
    "FeatureSchema",
    "ScorecardModel",
    "feature_columns",
    "fit_frame",
    "fit_target",
    "predict_frame",
    "require_columns",
]

MISSING = "Missing"

# -- input contract shared by the credit estimators -----------------------------------------


@dataclass(frozen=True)
class FeatureSchema:
    """The columns a credit model was fitted on and how each one is read.

    Attributes
    ----------
    names
        Feature names in training order (``x0``, ``x1``, … for arrays).
    categorical
        The names read as categories; the others are numbers (float64, NaN = missing).
    named
        Whether fit saw a DataFrame with text column names; then prediction selects the
        columns by name (extra columns are ignored, order does not matter).
    """

    names: tuple[str, ...]
    categorical: tuple[str, ...]
    named: bool

    @property
    def numeric(self) -> tuple[str, ...]:
        """The names read as numbers."""
        return tuple(name for name in self.names if name not in self.categorical)


def _is_categorical(column: pd.Series) -> bool:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return True
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return False
    name = str(column.name)
    raise ValidationError(f"column {name!r} has unsupported type {dtype}", field=name)


def _text(column: pd.Series) -> npt.NDArray[np.object_]:
    """Categories as ``str`` in an object array; missing values as NaN."""
    values = column.astype(object).to_numpy(dtype=object, na_value=np.nan)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return np.array([*uniques, np.nan], dtype=object)[codes]
    # mixed Python objects: factorize would merge 1, 1.0 and True
    missing = pd.isna(values)
    out = np.empty(len(values), dtype=object)
    for i, (value, gone) in enumerate(zip(values, missing, strict=True)):
        if gone:
            out[i] = np.nan
        elif isinstance(value, str):
            out[i] = value
        elif isinstance(value, float) and value.is_integer():
            out[i] = str(int(value))
        else:
            out[i] = str(value.item() if isinstance(value, np.generic) else value)
    return out


def _numbers(column: pd.Series, name: str) -> npt.NDArray[np.float64]:
    if pd.api.types.is_numeric_dtype(column.dtype) and not isinstance(
        column.dtype, pd.CategoricalDtype
    ):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = pd.Series(_text(column), dtype=object)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if (text.notna().to_numpy() & np.isnan(values)).any():
            raise ValidationError(f"numeric column {name!r} holds text", field=name)
    if np.isinf(values).any():
        raise ValidationError(f"numeric column {name!r} holds infinite values", field=name)
    return values


def _conform(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    columns: dict[str, npt.NDArray[Any]] = {}
    for position, name in enumerate(schema.names):
        column = frame.iloc[:, position]
        if name in schema.categorical:
            columns[name] = _text(column)
        else:
            columns[name] = _numbers(column, name)
    return pd.DataFrame(
        {name: pd.Series(v, index=frame.index, dtype=v.dtype) for name, v in columns.items()}
    )


def _numeric_array(X: object) -> npt.NDArray[np.float64]:
    return np.asarray(
        check_array(X, dtype=np.float64, ensure_all_finite="allow-nan"), dtype=np.float64
    )


def fit_frame(X: object) -> tuple[FeatureSchema, pd.DataFrame]:
    """Read training features into a schema and a conformed frame.

    Parameters
    ----------
    X
        A DataFrame (object, ``str`` and ``category`` columns are categorical, numeric
        columns are numbers) or a numeric array-like (columns named ``x0``, ``x1``, …).

    Returns
    -------
    tuple[FeatureSchema, pandas.DataFrame]
        The schema and the features: numeric columns float64, categorical columns
        ``object`` holding ``str`` or NaN.

    Raises
    ------
    ValidationError
        For no rows or columns, duplicate names, infinite numbers or unsupported types.
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValidationError(f"need at least one row and one column, got {X.shape}")
        named = all(isinstance(c, str) for c in X.columns)
        names = [str(c) for c in X.columns] if named else [f"x{i}" for i in range(X.shape[1])]
        if len(set(names)) != len(names):
            raise ValidationError("column names must be unique")
        categorical = tuple(
            name for name, (_, col) in zip(names, X.items(), strict=True) if _is_categorical(col)
        )
        schema = FeatureSchema(names=tuple(names), categorical=categorical, named=named)
        return schema, _conform(X, schema)
    array = _numeric_array(X)
    names = [f"x{i}" for i in range(array.shape[1])]
    schema = FeatureSchema(names=tuple(names), categorical=(), named=False)
    return schema, pd.DataFrame(array, columns=names)


def predict_frame(X: object, schema: FeatureSchema, owner: str) -> pd.DataFrame:
    """Read features to score the way :func:`fit_frame` read the training features.

    Parameters
    ----------
    X
        A DataFrame with every training column (selected by name when fit saw names) or
        an array-like with the training columns in order.
    schema
        The schema from :func:`fit_frame`.
    owner
        The estimator's class name, for messages.

    Returns
    -------
    pandas.DataFrame
        The training columns, conformed, with the input's index.

    Raises
    ------
    ValidationError
        When a training column is missing (``field`` names it), the number of columns
        differs, a numeric column holds text or infinite values, or there are no rows.
    """
    n = len(schema.names)
    if isinstance(X, pd.DataFrame):
        if schema.named:
            missing = [name for name in schema.names if name not in X.columns]
            if missing:
                shown = ", ".join(repr(name) for name in missing)
                raise ValidationError(f"missing feature column(s) {shown}", field=missing[0])
            frame = X.loc[:, list(schema.names)]
        else:
            if X.shape[1] and all(isinstance(c, str) for c in X.columns):
                warnings.warn(
                    f"X has feature names, but {owner} was fitted without feature names",
                    UserWarning,
                    stacklevel=3,
                )
            frame = X
    else:
        if schema.named:
            warnings.warn(
                f"X does not have valid feature names, but {owner} was fitted with feature names",
                UserWarning,
                stacklevel=3,
            )
        dtype = object if schema.categorical else np.float64
        array = check_array(X, dtype=dtype, ensure_all_finite="allow-nan")
        frame = pd.DataFrame(array)
    if frame.shape[1] != n:
        raise ValidationError(
            f"X has {frame.shape[1]} features, but {owner} is expecting {n} features as input."
        )
    if frame.shape[0] == 0:
        raise ValidationError("no rows to score")
    return _conform(frame, schema)


def feature_columns(frame: pd.DataFrame) -> dict[str, npt.NDArray[Any]]:
    """Return the columns of a :func:`predict_frame` result as arrays, by name."""
    return {str(name): frame[name].to_numpy() for name in frame.columns}


def require_columns(columns: Mapping[str, object], schema: FeatureSchema) -> None:
    """Refuse columns that lack a training column (``field`` names the first)."""
    missing = [name for name in schema.names if name not in columns]
    if missing:
        shown = ", ".join(repr(name) for name in missing)
        raise ValidationError(f"missing feature column(s) {shown}", field=missing[0])


def fit_target(y: object, n_samples: int) -> tuple[npt.NDArray[Any], npt.NDArray[np.int_]]:
    """Check a binary target; return ``classes_`` and ``y`` as 0/1 (1 = ``classes_[1]``, bad).

    Raises
    ------
    ValidationError
        When ``y`` is missing, has another length than ``X`` or not exactly two classes.
    """
    if y is None:
        raise ValidationError(
            "this estimator requires y to be passed, but the target y is None", field="y"
        )
    target = column_or_1d(y, warn=True)
    if target.dtype.kind in "fc" and not np.isfinite(target).all():
        raise ValidationError("Input y contains NaN or infinity", field="y")
    check_classification_targets(target)
    if len(target) != n_samples:
        raise ValidationError(f"X has {n_samples} rows but y has {len(target)}", field="y")
    classes, encoded = np.unique(target, return_inverse=True)
    if len(classes) > 2:
        raise ValidationError(
            "Only binary classification is supported. y must hold 2 classes (good and bad),"
            f" got {len(classes)} classes",
            field="y",
        )
    if len(classes) < 2:
        raise ValidationError("y must hold 2 classes (good and bad), got 1 class", field="y")
    return classes, np.asarray(encoded, dtype=np.int_)


def credit_tags(tags: Tags) -> Tags:
    """Adjust scikit-learn tags for a binary classifier that accepts NaN."""
    tags.input_tags.allow_nan = True
    if tags.classifier_tags is not None:
        tags.classifier_tags.multi_class = False
    return tags


@contextmanager
def quiet_optbinning() -> Iterator[None]:
    """Silence the pandas-3 deprecation optbinning 1.0 triggers when it builds bin tables."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning)
        yield


def _positive_number(value: object, name: str, *, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{name} must be a number, got {value!r}", field=name)
    number = float(value)
    if not math.isfinite(number) or number <= 0 or (upper is not None and number > upper):
        bound = f" and <= {upper}" if upper is not None else ""
        raise ValidationError(f"{name} must be > 0{bound}, got {value!r}", field=name)
    return number


# -- scorecard --------------------------------------------------------------------------------


@dataclass
class Characteristic:
    """One scored feature: its bins, their statistics and their points.

    Bin ``len(labels) - 1`` is always "Missing" (missing values and unseen categories).

    Attributes
    ----------
    name
        Feature name.
    categorical
        Whether bins group categories (else they are intervals ``[lo, hi)``).
    splits
        Numeric split points (empty for categorical).
    categories
        Category → bin index (empty for numeric).
    labels
        Text of each bin.
    count, bads, woe, iv, points
        Per bin, on the training data; ``points`` is set once the regression is fitted.
    """

    name: str
    categorical: bool
    splits: npt.NDArray[np.float64]
    categories: dict[str, int]
    labels: list[str]
    count: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    bads: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    woe: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    iv: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    points: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def from_binning(cls, name: str, optb: Any) -> Characteristic:
        """Read the bins optbinning found for one feature."""
        if optb.dtype == "categorical":
            groups = [sorted(str(c) for c in group) for group in optb.splits]
            categories = {c: b for b, group in enumerate(groups) for c in group}
            labels = [", ".join(group) for group in groups]
            splits = np.zeros(0)
        else:
            splits = np.asarray(optb.splits, dtype=np.float64)
            edges = [-np.inf, *splits.tolist(), np.inf]
            labels = [
                f"{'(' if lo == -np.inf else '['}{lo:.6g}, {hi:.6g})"
                for lo, hi in itertools.pairwise(edges)
            ]
            categories = {}
        return cls(name, optb.dtype == "categorical", splits, categories, [*labels, MISSING])

    @property
    def missing_bin(self) -> int:
        """Index of the "Missing" bin."""
        return len(self.labels) - 1

    def bin_index(self, values: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
        """Return the bin of each value; missing and unseen values go to "Missing"."""
        if self.categorical:
            # each distinct value is looked up once, so one row costs little and many rows
            # cost one pass (categories are ``str``; NaN and unseen values go to Missing)
            codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
            missing = self.missing_bin
            found = [self.categories.get(u, missing) for u in uniques]
            return np.array([*found, missing], dtype=np.intp)[codes]
        x = np.asarray(values, dtype=np.float64)
        index = np.digitize(x, self.splits, right=False).astype(np.intp)
        index[np.isnan(x)] = self.missing_bin
        return index

    def learn(self, index: npt.NDArray[np.intp], y: npt.NDArray[np.int_]) -> None:
        """Count goods and bads per bin; WoE = ln(share of goods / share of bads).

        As in optbinning, a bin without goods or without bads (or empty) has WoE 0.
        """
        size = len(self.labels)
        self.count = np.bincount(index, minlength=size).astype(np.float64)
        self.bads = np.bincount(index, weights=y, minlength=size).astype(np.float64)
        goods = self.count - self.bads
        total_goods, total_bads = goods.sum(), self.bads.sum()
        share_good, share_bad = goods / total_goods, self.bads / total_bads
        usable = (goods > 0) & (self.bads > 0)
        self.woe = np.zeros(size)
        self.woe[usable] = np.log(share_good[usable] / share_bad[usable])
        self.iv = (share_good - share_bad) * self.woe


class ScorecardModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A points scorecard: optbinning bins, WoE and logistic regression.

    Parameters
    ----------
    base_score, base_odds, pdo
        Score scaling: ``base_score`` points at odds of good ``base_odds``:1, and every
        ``pdo`` points double the odds (see :class:`~finai.credit.scaling.ScoreScaling`).
    max_n_bins
        Most bins per characteristic (besides "Missing"); None lets optbinning decide.
    min_bin_size
        Smallest bin as a share of the training rows, in (0, 0.5].
    monotonic_trend
        Trend of the event rate for numeric characteristics, passed to optbinning:
        ``"auto_asc_desc"`` (default: ascending or descending, whichever fits), ``"auto"``
        (also peaks and valleys), ``"ascending"``, ``"descending"`` or None (no trend).
    C
        Inverse L2 regularisation strength of the logistic regression.
    selection_criteria
        Optional filter on the characteristics, in optbinning's form, e.g.
        ``{"iv": {"min": 0.02}}`` keeps those with information value >= 0.02.
    random_state
        Stored for reproducibility records; the fit is deterministic (lbfgs solver).

    Attributes
    ----------
    classes_ : numpy.ndarray
        The two labels; ``classes_[1]`` is bad (default).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : numpy.ndarray
        Feature names seen in fit; only set when ``X`` was a DataFrame with text names.
    schema_ : FeatureSchema
        Names and types of the training columns.
    scaling_ : ScoreScaling
        The score scaling in force.
    binning_process_ : optbinning.BinningProcess
        The fitted binning of every feature.
    characteristics_ : list[Characteristic]
        The scored characteristics (those selected), in training order.
    logistic_ : sklearn.linear_model.LogisticRegression
        The regression on WoE values.

    Example
    -------
    >>> model = ScorecardModel().fit(X, y)  # doctest: +SKIP
    >>> model.points(X).sum(axis=1)  # == model.credit_score(X)  # doctest: +SKIP
    """

    def __init__(
        self,
        base_score: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
        max_n_bins: int | None = 6,
        min_bin_size: float = 0.05,
        monotonic_trend: str | None = "auto_asc_desc",
        C: float = 1.0,
        selection_criteria: dict[str, dict[str, Any]] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.base_score = base_score
        self.base_odds = base_odds
        self.pdo = pdo
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.monotonic_trend = monotonic_trend
        self.C = C
        self.selection_criteria = selection_criteria
        self.random_state = random_state

    def __sklearn_tags__(self) -> Tags:
        """Binary classifier that accepts NaN."""
        return credit_tags(super().__sklearn_tags__())

    def fit(self, X: object, y: object) -> Self:
        """Bin every feature, fit the regression and build the points table.

        Parameters
        ----------
        X
            Training features (see :func:`fit_frame`).
        y
            Two classes; the greater (1 for 0/1 labels) is bad.

        Returns
        -------
        ScorecardModel
            ``self``, fitted.

        Raises
        ------
        ValidationError
            For bad parameters or data, or when no characteristic passes
            ``selection_criteria``.
        """
        scaling = ScoreScaling(self.base_score, self.base_odds, self.pdo)
        c = _positive_number(self.C, "C")
        min_bin_size = _positive_number(self.min_bin_size, "min_bin_size", upper=0.5)
        if self.max_n_bins is not None and (
            isinstance(self.max_n_bins, bool)
            or not isinstance(self.max_n_bins, numbers.Integral)
            or self.max_n_bins < 2
        ):
            raise ValidationError("max_n_bins must be None or an integer >= 2", field="max_n_bins")
        schema, frame = fit_frame(X)
        classes, y01 = fit_target(y, len(frame))
        process = BinningProcess(
            variable_names=list(schema.names),
            categorical_variables=list(schema.categorical) or None,
            max_n_bins=self.max_n_bins,
            min_bin_size=min_bin_size,
            min_prebin_size=min(min_bin_size, 0.05),
            selection_criteria=self.selection_criteria,
            binning_fit_params={
                name: {"monotonic_trend": self.monotonic_trend} for name in schema.numeric
            },
        )
        try:
            with quiet_optbinning():
                process.fit(frame, y01)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"binning failed: {exc}") from exc
        selected = set(process.get_support(names=True).tolist())
        if not selected:
            raise ValidationError(
                "no characteristic passed the selection criteria", field="selection_criteria"
            )
        characteristics = []
        columns = []
        for name in schema.names:
            if name not in selected:
                continue
            characteristic = Characteristic.from_binning(name, process.get_binned_variable(name))
            index = characteristic.bin_index(frame[name].to_numpy())
            characteristic.learn(index, y01)
            characteristics.append(characteristic)
            columns.append(characteristic.woe[index])
        woe = np.column_stack(columns)
        logistic = LogisticRegression(C=c, max_iter=1000, random_state=self.random_state)
        logistic.fit(woe, y01)
        base_points = (scaling.offset - scaling.factor * float(logistic.intercept_[0])) / len(
            characteristics
        )
        for characteristic, coef in zip(characteristics, logistic.coef_[0], strict=True):
            characteristic.points = -scaling.factor * float(coef) * characteristic.woe + base_points

        self.classes_ = classes
        self.n_features_in_ = len(schema.names)
        if schema.named:
            self.feature_names_in_ = np.asarray(schema.names, dtype=object)
        self.schema_ = schema
        self.scaling_ = scaling
        self.binning_process_ = process
        self.characteristics_ = characteristics
        self.logistic_ = logistic
        return self

    def _bins(self, X: object) -> tuple[pd.DataFrame, npt.NDArray[np.intp]]:
        check_is_fitted(self, "characteristics_")
        frame = predict_frame(X, self.schema_, type(self).__name__)
        return frame, self._bin_columns(feature_columns(frame))

    def _bin_columns(self, columns: Mapping[str, npt.NDArray[Any]]) -> npt.NDArray[np.intp]:
        return np.column_stack([c.bin_index(columns[c.name]) for c in self.characteristics_])

    def _points(self, index: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        return np.column_stack([c.points[index[:, j]] for j, c in enumerate(self.characteristics_)])

    def points(self, X: object) -> pd.DataFrame:
        """Return each row's points per characteristic; a row's points sum to its score.

        Parameters
        ----------
        X
            Features with every training column.

        Returns
        -------
        pandas.DataFrame
            One column per scored characteristic, the input's index (``RangeIndex`` for
            arrays). The intercept is already spread evenly over the characteristics.
        """
        frame, index = self._bins(X)
        return pd.DataFrame(
            self._points(index),
            columns=[c.name for c in self.characteristics_],
            index=frame.index,
        )

    def credit_score(self, X: object) -> npt.NDArray[np.float64]:
        """Return each row's score: the sum of its points (higher is better)."""
        _, index = self._bins(X)
        return np.asarray(self._points(index).sum(axis=1), dtype=np.float64)

    def predict_proba(self, X: object) -> npt.NDArray[np.float64]:
        """Return ``[P(good), P(bad)]`` per row; column 1 is the PD read from the score."""
        score = self.credit_score(X)
        pd_bad = self.scaling_.pd_from_score(score)
        return np.column_stack([1.0 - pd_bad, pd_bad])

    def predict(self, X: object) -> npt.NDArray[Any]:
        """Return ``classes_[1]`` (bad) where the PD is at least 0.5, else ``classes_[0]``."""
        bad = self.predict_proba(X)[:, 1] >= 0.5
        return np.asarray(self.classes_[bad.astype(np.intp)])

    def table(self) -> pd.DataFrame:
        """Return the scorecard as a credit committee reads it.

        Returns
        -------
        pandas.DataFrame
            One row per characteristic and bin (including "Missing", which also scores
            categories not seen in training) with ``characteristic``, ``bin``,
            ``count``, ``count_share``, ``bads``, ``event_rate`` (bad rate), ``woe``,
            ``iv``, ``coefficient`` and ``points``.
        """
        check_is_fitted(self, "characteristics_")
        rows: list[dict[str, object]] = []
        total = float(self.characteristics_[0].count.sum())
        for c, coef in zip(self.characteristics_, self.logistic_.coef_[0], strict=True):
            for b, label in enumerate(c.labels):
                count = float(c.count[b])
                rows.append(
                    {
                        "characteristic": c.name,
                        "bin": label,
                        "count": int(count),
                        "count_share": count / total,
                        "bads": int(c.bads[b]),
                        "event_rate": c.bads[b] / count if count else float("nan"),
                        "woe": float(c.woe[b]),
                        "iv": float(c.iv[b]),
                        "coefficient": float(coef),
                        "points": float(c.points[b]),
                    }
                )
        return pd.DataFrame(rows)

    def information_values(self) -> pd.Series:
        """Return the information value of every feature (scored or not), largest first."""
        check_is_fitted(self, "binning_process_")
        with quiet_optbinning():
            summary = self.binning_process_.summary()
        values = pd.Series(
            summary["iv"].to_numpy(dtype=np.float64), index=summary["name"].astype(str), name="iv"
        )
        values.index.name = "characteristic"
        return values.sort_values(ascending=False, kind="stable")

    def reasons(
        self,
        X: object,
        n: int = 4,
        labels: Mapping[str, str] | None = None,
    ) -> list[list[Reason]]:
        """Return adverse-action reasons: the characteristics that cost the most points.

        Parameters
        ----------
        X
            Applicants' features.
        n
            Most reasons per applicant, 1 to 4.
        labels
            Plain-words names of features for the texts.

        Returns
        -------
        list[list[Reason]]
            Per row, up to ``n`` reasons, most adverse first; ``contribution`` is the
            points lost against the best-scoring bin (seen in training) of that
            characteristic. Characteristics at their best bin give no reason.
        """
        check_reason_count(n)
        return self.assess(X).reasons(n, labels)

    def assess(self, X: object) -> Assessment:
        """Return PD, score and points lost per characteristic, from one binning pass.

        Points lost are counted against the best-scoring bin seen in training, so a row's
        reasons and its score come from the same points.
        """
        check_is_fitted(self, "characteristics_")
        frame = predict_frame(X, self.schema_, type(self).__name__)
        return self.assess_columns(feature_columns(frame))

    def assess_columns(self, columns: Mapping[str, npt.NDArray[Any]]) -> Assessment:
        """Return :meth:`assess` of features already read as :func:`predict_frame` reads them.

        Parameters
        ----------
        columns
            One array per training column, by name: numbers as ``float64`` (NaN =
            missing), categories as ``str`` or NaN in ``object`` arrays; other keys are
            ignored. :meth:`assess` passes the columns of :func:`predict_frame`; a caller
            with one applicant builds them without a table
            (:meth:`finai.credit.CreditModel.assess_row`).

        Raises
        ------
        ValidationError
            When a training column is missing.
        """
        check_is_fitted(self, "characteristics_")
        require_columns(columns, self.schema_)
        index = self._bin_columns(columns)
        points = self._points(index)
        score = np.asarray(points.sum(axis=1), dtype=np.float64)
        best = np.array(
            [float(c.points[c.count > 0].max()) for c in self.characteristics_], dtype=np.float64
        )
        return Assessment(
            pd=self.scaling_.pd_from_score(score),
            score=score,
            harm=best - points,
            values={c.name: columns[c.name] for c in self.characteristics_},
            describe=_points_text,
        )


def _points_text(
    label: str, value: npt.NDArray[Any], lost: npt.NDArray[np.float64]
) -> npt.NDArray[Any]:
    # the points lost take few distinct whole values: word each once
    steps, back = np.unique(np.rint(lost), return_inverse=True)
    amount = np.where(steps >= 1, steps.astype(np.int64).astype(TEXT), "less than 1")
    unit = np.where(steps >= 2, " points", " point")
    tail = (") lowered the score by " + amount + unit)[back]
    return (label + " (") + value + tail
