"""What the registry keeps for a credit model: the estimator and how to feed it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    """

    estimator: PDModel
    spec: DatasetSpec
    algorithm: str
    reference_scores: np.ndarray
    cv: list[dict[str, Any]] = field(default_factory=list)
    oof_pd: np.ndarray | None = None
    oof_y: np.ndarray | None = None

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
