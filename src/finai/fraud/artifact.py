"""What the registry keeps for a fraud model: estimator, features, thresholds, lineage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from finai.exceptions import ValidationError
from finai.fraud.features import FeatureConfig, offline_features
from finai.fraud.models import FraudEstimator
from finai.fraud.thresholds import Action, Thresholds
from finai.fraud.windows import TimeSplit

__all__ = ["KIND", "FraudModel", "Reason"]

KIND = "fraud.score"
"""Registry kind of a :class:`FraudModel`."""


@dataclass(frozen=True)
class Reason:
    """A feature that raised a transaction's fraud score.

    Attributes
    ----------
    feature
        The feature's name, e.g. ``terminal_fraud_rate_30d``.
    value
        Its value for the transaction.
    contribution
        How much it raised the score: log-odds for ``lightgbm`` and ``logistic``;
        for ``isolation_forest`` how unusual the value is (distance from the
        training median in interquartile ranges), a proxy.
    """

    feature: str
    value: float
    contribution: float


@dataclass
class FraudModel:
    """A trained fraud model and everything needed to score, decide and explain.

    Attributes
    ----------
    estimator
        The fitted estimator (:mod:`finai.fraud.models`).
    algorithm
        ``"lightgbm"``, ``"logistic"`` or ``"isolation_forest"``.
    config
        The feature windows and label delay the model was trained with.
    thresholds
        Review and block cut-offs of the score, chosen on the validation part.
    feature_names
        The features the estimator reads, in order.
    split
        The train window and its fit and validation parts.
    seed
        Seed of the estimator.
    """

    estimator: FraudEstimator
    algorithm: str
    config: FeatureConfig
    thresholds: Thresholds
    feature_names: tuple[str, ...]
    split: TimeSplit
    seed: int

    def features(self, transactions: pd.DataFrame) -> pd.DataFrame:
        """Compute the model's features of every transaction from its history.

        Each transaction's features use only the transactions before it (and labels
        at least ``config.delay_days`` old), see :mod:`finai.fraud.features`.
        """
        return offline_features(transactions, self.config)

    def _matrix(self, features: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(features, pd.DataFrame):
            raise ValidationError("features must be a table", field="features")
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise ValidationError(
                f"features lack {', '.join(missing)}; compute them with FraudModel.features",
                field=missing[0],
            )
        matrix = features.loc[:, list(self.feature_names)]
        try:
            values = matrix.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError("features must be numbers", field="features") from None
        if not np.isfinite(values).all():
            bad = self.feature_names[int(np.flatnonzero(~np.isfinite(values).all(axis=0))[0])]
            raise ValidationError(f"feature {bad} has a missing or infinite value", field=bad)
        return matrix.astype(np.float64)

    def score(self, features: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Return each row's fraud score in [0, 1]; higher = more suspect.

        Raises
        ------
        ValidationError
            When a feature column is missing or holds a missing or infinite value.
        """
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64)
        return np.clip(self.estimator.fraud_score(self._matrix(features)), 0.0, 1.0)

    def decide(self, features: pd.DataFrame) -> list[Action]:
        """Return allow, review or block for each row, by the model's thresholds.

        Raises
        ------
        ValidationError
            As :meth:`score`.
        """
        return self.thresholds.decide(self.score(features))

    def reasons(self, features: pd.DataFrame, n: int = 3) -> list[list[Reason]]:
        """Return per row up to ``n`` features that raised its score, strongest first.

        Only features with a positive contribution are given, so a row may have fewer
        than ``n`` (or none). See :class:`Reason` for what a contribution measures.

        Raises
        ------
        ValidationError
            As :meth:`score`, or for ``n < 1``.
        """
        return self.assess(features, n)[1]

    def assess(
        self, features: pd.DataFrame, n: int = 3
    ) -> tuple[npt.NDArray[np.float64], list[list[Reason]]]:
        """Return :meth:`score` and :meth:`reasons` together, from one model pass.

        Raises
        ------
        ValidationError
            As :meth:`reasons`.
        """
        _check_n(n)
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64), []
        values = self._matrix(features).to_numpy()
        return self._assessed(values, n)

    def score_row(self, features: Mapping[str, float]) -> float:
        """Score one transaction's features (the online path: no table built).

        Parameters
        ----------
        features
            The values by feature name (:meth:`finai.fraud.features.OnlineFeatures.features`).

        Raises
        ------
        ValidationError
            When a feature is missing or not a finite number.
        """
        return float(np.clip(self.estimator.fraud_score(self._row(features))[0], 0.0, 1.0))

    def assess_row(self, features: Mapping[str, float], n: int = 3) -> tuple[float, list[Reason]]:
        """Score and explain one transaction's features, as :meth:`score_row`.

        Raises
        ------
        ValidationError
            As :meth:`score_row`, or for ``n < 1``.
        """
        _check_n(n)
        scores, reasons = self._assessed(self._row(features), n)
        return float(scores[0]), reasons[0]

    def _row(self, features: Mapping[str, float]) -> npt.NDArray[np.float64]:
        try:
            row = np.array([[features[name] for name in self.feature_names]], dtype=np.float64)
        except KeyError as exc:
            raise ValidationError(f"features lack {exc.args[0]}", field=str(exc.args[0])) from None
        if not np.isfinite(row).all():
            bad = self.feature_names[int(np.flatnonzero(~np.isfinite(row[0]))[0])]
            raise ValidationError(f"feature {bad} has a missing or infinite value", field=bad)
        return row

    def _assessed(
        self, values: npt.NDArray[np.float64], n: int
    ) -> tuple[npt.NDArray[np.float64], list[list[Reason]]]:
        scores, contributions = self.estimator.assess(values)
        contributions = np.asarray(contributions, dtype=np.float64)
        top = np.argsort(-contributions, axis=1, kind="stable")[:, :n]
        reasons = [
            [
                Reason(
                    feature=self.feature_names[c],
                    value=float(values[row, c]),
                    contribution=float(contributions[row, c]),
                )
                for c in columns
                if contributions[row, c] > 0
            ]
            for row, columns in enumerate(top.tolist())
        ]
        return np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0), reasons


def _check_n(n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValidationError(f"n must be a whole number >= 1, got {n!r}", field="n")
