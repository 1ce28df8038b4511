"""What the registry keeps for a credit model: the estimator and how to feed it."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from finai.credit.reasons import Assessment, Reason
from finai.datasets.spec import DatasetSpec, check_scoring_frame

KIND = "credit.pd"


class PDModel(Protocol):
    """What decisioning needs from an estimator (``ScorecardModel``, ``GBMModel``)."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Any:
        """Fit on features and 0/1 labels (1 = bad)."""
        ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Return class probabilities; column 1 is the PD."""
        ...

    def credit_score(self, X: pd.DataFrame) -> np.ndarray:
        """Return credit score points (higher is better)."""
        ...

    def reasons(self, X: pd.DataFrame, n: int = 4) -> list[list[Reason]]:
        """Return up to ``n`` adverse-action reasons per row."""
        ...

    def assess(self, X: pd.DataFrame) -> Assessment:
        """Return PD, score and per-feature harm from one pass over the model."""
        ...

    def assess_columns(self, columns: Mapping[str, npt.NDArray[Any]]) -> Assessment:
        """Return :meth:`assess` of feature arrays already converted as ``assess`` converts."""
        ...


@dataclass
class CreditModel:
    """A trained PD model with the dataset spec it was trained on.

    Attributes
    ----------
    estimator
        The fitted scorecard or gradient-boosting model.
    spec
        The dataset spec with the inferred schema (feature names and types).
    algorithm
        ``"scorecard"`` or ``"gbm"``.
    reference_scores
        Scores of the training rows (a sample), the reference for PSI.
    cv
        Cross-validation table: one dict per candidate and fold summary.
    oof_pd, oof_y
        The chosen algorithm's out-of-fold PDs and the true labels (1 = bad) of the
        training rows, for ROC, KS and calibration curves without new labelled data.
    reference
        The training distribution of each feature and of the score, binned, for
        drift monitoring; None for models trained before it was recorded.
    """

    estimator: PDModel
    spec: DatasetSpec
    algorithm: str
    reference_scores: np.ndarray
    cv: list[dict[str, Any]] = field(default_factory=list)
    oof_pd: np.ndarray | None = None
    oof_y: np.ndarray | None = None
    reference: DriftReference | None = None

    @property
    def labels(self) -> Mapping[str, str]:
        """Plain-words names of features for reason texts, from the dataset spec."""
        return self.spec.labels

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Check a scoring frame and return its features in training order."""
        return check_scoring_frame(frame, self.spec)

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Return the PD of each row in [0, 1]."""
        return np.asarray(self.estimator.predict_proba(features))[:, 1]

    def scores(self, features: pd.DataFrame) -> np.ndarray:
        """Return each row's credit score."""
        return np.asarray(self.estimator.credit_score(features), dtype=float)

    def reasons(self, features: pd.DataFrame, n: int = 4) -> list[list[Reason]]:
        """Return adverse-action reasons per row, most adverse first, in plain words."""
        return self.assess(features).reasons(n, self.labels)

    def assess(self, features: pd.DataFrame) -> Assessment:
        """Return PD, score and what hurt each row, from one pass over the model."""
        return self.estimator.assess(features)

    def assess_row(self, applicant: Mapping[str, Any]) -> Assessment:
        """Check one applicant's values and assess them, as ``assess(features(frame))`` would.

        ``frame`` is ``pandas.DataFrame([applicant])``, the table of this one applicant.
        Plain values (what JSON carries: text or nothing for a categorical feature; a
        number or nothing for a numeric one) are converted here without building the
        table, the way :meth:`features` converts them; anything else (a number written
        as text, a flag, a value to refuse) goes through :meth:`features`, so the
        result and the errors are the same either way.

        Raises
        ------
        ValidationError
            As :meth:`features`.
        """
        columns = plain_features(applicant, self.spec)
        if columns is None:
            return self.assess(self.features(pd.DataFrame([dict(applicant)])))
        return self.estimator.assess_columns(columns)

    def score_reference(self) -> ReferenceBins:
        """Return the reference bins of the score (from ``reference_scores`` for older models)."""
        if self.reference is not None:
            return self.reference.score
        return numeric_bins("score", self.reference_scores)

    def assess_row_binned(
        self, applicant: Mapping[str, Any]
    ) -> tuple[Assessment, dict[str, int] | None]:
        """Return :meth:`assess_row` and the reference bin of each of the applicant's features.

        The bins are those :meth:`DriftReference.bin_rows` gives for the table of this
        one applicant, read from the values already converted for the model; None when
        the model has no reference.

        Raises
        ------
        ValidationError
            As :meth:`features`.
        """
        columns = plain_features(applicant, self.spec)
        if columns is None:
            features = self.features(pd.DataFrame([dict(applicant)]))
            bins = None if self.reference is None else self.reference.bin_rows(features)[0]
            return self.assess(features), bins
        bins = None if self.reference is None else self.reference.bin_values(columns)
        return self.estimator.assess_columns(columns), bins


_ABSENT = object()
MAX_EXACT_INT = 2**53
"""Whole numbers up to this size are exact as floats; larger ones take the table path."""


def plain_features(
    applicant: Mapping[str, Any], spec: DatasetSpec
) -> dict[str, npt.NDArray[Any]] | None:
    """Return one applicant's features as :meth:`CreditModel.features` reads them, or None.

    Handles the values JSON carries in the common case, each as the table path reads a
    column holding it alone: a numeric feature from an ``int`` or finite ``float``
    (``float64``) or ``None`` (NaN); a categorical feature from ``str`` (stripped;
    empty is missing), ``int`` (its digits) or ``None`` (NaN). None for anything else,
    a missing feature or a value the table path refuses (a negative income), so that
    path decides.
    """
    if spec.numeric is None or spec.categorical is None:
        return None
    columns: dict[str, npt.NDArray[Any]] = {}
    for name in spec.numeric:
        value = applicant.get(name, _ABSENT)
        if value is None:
            number = math.nan
        elif type(value) is float and not math.isinf(value):
            number = value
        elif type(value) is int and abs(value) <= MAX_EXACT_INT:
            number = float(value)
        else:
            return None
        if number < 0 and "income" in name.lower():
            return None
        columns[name] = np.array([number], dtype=np.float64)
    for name in spec.categorical:
        value = applicant.get(name, _ABSENT)
        if value is None:
            text: object = math.nan
        elif type(value) is str:
            text = value.strip() or math.nan
        elif type(value) is int:
            text = str(value)
        else:
            return None
        columns[name] = np.array([text], dtype=object)
    return columns


REFERENCE_BINS = 10
"""Most quantile bins of a numeric feature or of the score in the drift reference."""

MAX_CATEGORIES = 50
"""Most categories of a feature the drift reference keeps apart; rarer ones share "other"."""

MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"


@dataclass(frozen=True)
class ReferenceBins:
    """How one feature (or the score) was distributed over its bins in the training data.

    Bins are numbered from 0. A numeric feature has ``len(edges) + 1`` value bins, bin
    ``k`` holding ``edges[k-1] < value <= edges[k]`` (the first has no lower bound, the
    last no upper one), then the missing bin. A categorical feature has one bin per
    kept category in ``categories`` order, then "other" (a category not kept: unseen in
    training, or one of the rarest beyond :data:`MAX_CATEGORIES`), then missing. The
    missing bin is always the last.

    Attributes
    ----------
    name
        The feature's column name, or ``"score"``.
    kind
        ``"numeric"`` or ``"categorical"``.
    edges
        Upper edges of the numeric value bins but the last, increasing (empty for a
        categorical feature, or a numeric one with a single training value).
    categories
        The categories kept apart, most frequent first (empty for a numeric feature).
    proportions
        Share of the training rows in each bin; they sum to 1.
    """

    name: str
    kind: Literal["numeric", "categorical"]
    edges: tuple[float, ...]
    categories: tuple[str, ...]
    proportions: tuple[float, ...]

    @property
    def missing(self) -> int:
        """The index of the missing bin (the last)."""
        return len(self.proportions) - 1

    @property
    def labels(self) -> tuple[str, ...]:
        """A short label per bin: ``<= 3.5``, ``(3.5, 7]``, ``> 7``, a category, other, missing."""
        if self.kind == "categorical":
            return (*self.categories, OTHER_LABEL, MISSING_LABEL)
        if not self.edges:
            return ("all", MISSING_LABEL)
        inner = [f"({lo:g}, {hi:g}]" for lo, hi in zip(self.edges, self.edges[1:], strict=False)]
        return (f"<= {self.edges[0]:g}", *inner, f"> {self.edges[-1]:g}", MISSING_LABEL)

    def bin_array(self, values: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
        """Return the bin of each value of a column converted as for the model.

        ``values`` is ``float64`` with NaN for missing (numeric) or ``object`` text
        with a non-text value (NaN) for missing (categorical).
        """
        if self.kind == "numeric":
            numbers = np.asarray(values, dtype=np.float64)
            bins = np.searchsorted(np.asarray(self.edges, dtype=np.float64), numbers, side="left")
            bins[np.isnan(numbers)] = self.missing
            return bins.astype(np.intp)
        texts = np.asarray(values, dtype=object)
        codes = pd.Index(self.categories, dtype=object).get_indexer(pd.Index(texts, dtype=object))
        bins = np.where(codes < 0, len(self.categories), codes).astype(np.intp)
        bins[pd.isna(texts)] = self.missing
        return bins

    def bin_value(self, value: Any) -> int:
        """Return the bin of one value converted as for the model (``bin_array`` of one)."""
        if self.kind == "numeric":
            number = float(value)
            return self.missing if math.isnan(number) else bisect_left(self.edges, number)
        if not isinstance(value, str):
            return self.missing
        try:
            return self.categories.index(value)
        except ValueError:
            return len(self.categories)

    def counts(self, bins: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
        """Return how many of ``bins`` fall in each bin."""
        return np.bincount(bins, minlength=len(self.proportions)).astype(np.int64)


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def numeric_bins(name: str, values: npt.NDArray[Any], bins: int = REFERENCE_BINS) -> ReferenceBins:
    """Return the reference bins of a numeric column: up to ``bins`` quantile bins + missing.

    Edges are training values: the ``k/bins`` quantiles as the smallest value with at
    least that share of rows at or below it (``inverted_cdf``, in whole numbers so
    that no rounding moves an edge), duplicates and the largest value dropped, so that
    every value bin holds at least one training row even when values tie heavily.
    """
    numbers = np.asarray(values, dtype=np.float64)
    present = numbers[~np.isnan(numbers)]
    if len(present):
        ordered = np.sort(present)
        n = len(ordered)
        at = [(k * n + bins - 1) // bins - 1 for k in range(1, bins)]  # ceil(k n / bins) - 1
        edges = np.unique(ordered[at])
        edges = edges[edges < ordered[-1]]
    else:
        edges = np.array([], dtype=np.float64)
    reference = ReferenceBins(name, "numeric", tuple(float(e) for e in edges), (), ())
    return _with_proportions(reference, numbers)


def categorical_bins(name: str, values: npt.NDArray[Any]) -> ReferenceBins:
    """Return the reference bins of a categorical column: its categories, other, missing.

    The :data:`MAX_CATEGORIES` most frequent categories get a bin each (ties broken by
    name); the rest share the "other" bin with categories unseen in training.
    """
    texts = pd.Series(np.asarray(values, dtype=object))
    present = texts[texts.map(_is_text).to_numpy(dtype=bool)]
    frequency = present.value_counts()
    ranked = sorted(frequency.items(), key=lambda item: (-int(item[1]), str(item[0])))
    categories = tuple(str(category) for category, _ in ranked[:MAX_CATEGORIES])
    reference = ReferenceBins(name, "categorical", (), categories, ())
    return _with_proportions(reference, texts.to_numpy(dtype=object))


def _with_proportions(reference: ReferenceBins, values: npt.NDArray[Any]) -> ReferenceBins:
    """Return ``reference`` with the share of ``values`` in each of its bins."""
    value_bins = (
        len(reference.edges) + 1 if reference.kind == "numeric" else len(reference.categories) + 1
    )
    sized = replace(reference, proportions=(0.0,) * (value_bins + 1))
    counts = sized.counts(sized.bin_array(values))
    total = max(int(counts.sum()), 1)
    return replace(sized, proportions=tuple(float(c) / total for c in counts))


@dataclass(frozen=True)
class DriftReference:
    """The training distribution a credit model's drift is measured against.

    Attributes
    ----------
    features
        Reference bins per feature, in the model's feature order.
    score
        Reference bins of the credit score (up to :data:`REFERENCE_BINS` quantile bins).
    rows
        Training rows the feature bins were counted on.
    """

    features: tuple[ReferenceBins, ...]
    score: ReferenceBins
    rows: int

    @classmethod
    def from_training(
        cls, features: pd.DataFrame, spec: DatasetSpec, scores: npt.NDArray[np.float64]
    ) -> DriftReference:
        """Bin the training features (as converted for the model) and the reference scores.

        Scores are binned as decisions store them, rounded to two decimals: a calibrated
        model's scores come in steps, and an edge between a value and its rounding would
        move whole steps across bins.
        """
        numeric = set(spec.numeric or ())
        bins = tuple(
            numeric_bins(name, features[name].to_numpy())
            if name in numeric
            else categorical_bins(name, features[name].to_numpy())
            for name in spec.features
        )
        score = numeric_bins("score", np.round(scores, 2))
        return cls(features=bins, score=score, rows=len(features))

    def bin_columns(self, features: pd.DataFrame) -> dict[str, npt.NDArray[np.intp]]:
        """Return each feature's bin for every row of a features table (vectorised)."""
        return {ref.name: ref.bin_array(features[ref.name].to_numpy()) for ref in self.features}

    def bin_rows(self, features: pd.DataFrame) -> list[dict[str, int]]:
        """Return, per row of a features table, the bin of each feature (what a decision stores)."""
        columns = self.bin_columns(features)
        names = list(columns)
        rows: list[list[int]] = (
            np.column_stack([columns[n] for n in names]).tolist()
            if names
            else [[] for _ in range(len(features))]
        )
        return [dict(zip(names, row, strict=True)) for row in rows]

    def bin_values(self, columns: Mapping[str, npt.NDArray[Any]]) -> dict[str, int]:
        """Return the bins of one applicant from its one-value feature arrays (no table)."""
        return {ref.name: ref.bin_value(columns[ref.name][0]) for ref in self.features}
