"""What the registry keeps for a credit model: the estimator and how to feed it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
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
