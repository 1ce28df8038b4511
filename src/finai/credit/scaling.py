"""Score scaling: credit score points from odds of good and back.

A credit score is a straight line in the natural log of the odds of good,
``points = offset + factor * ln(odds_good)`` with ``odds_good = (1 - pd) / pd``,
``factor = pdo / ln 2`` and ``offset = base_score - factor * ln(base_odds)``: the score is
``base_score`` at odds ``base_odds`` to 1 and every ``pdo`` points double the odds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from finai.exceptions import ValidationError

__all__ = ["ScoreScaling"]


@dataclass(frozen=True)
class ScoreScaling:
    """The line that turns odds of good into points.

    Parameters
    ----------
    base_score
        Points at the base odds (e.g. 600).
    base_odds
        Odds of good to bad that score ``base_score`` (e.g. 50 means 50:1, a PD near 2 %).
    pdo
        Points to double the odds; positive.

    Raises
    ------
    ValidationError
        When a value is not finite, or ``base_odds`` or ``pdo`` is not positive.

    Example
    -------
    >>> s = ScoreScaling(base_score=600, base_odds=50, pdo=20)
    >>> round(float(s.score_from_pd(1 / 101)), 2)  # odds 100:1, twice the base odds
    620.0
    """

    base_score: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        for name in ("base_score", "base_odds", "pdo"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(f"{name} must be a number, got {value!r}", field=name)
            if not math.isfinite(value):
                raise ValidationError(f"{name} must be finite, got {value!r}", field=name)
        if self.base_odds <= 0:
            raise ValidationError(f"base_odds must be > 0, got {self.base_odds}", field="base_odds")
        if self.pdo <= 0:
            raise ValidationError(f"pdo must be > 0, got {self.pdo}", field="pdo")

    @property
    def factor(self) -> float:
        """Points per unit of natural-log odds: ``pdo / ln 2``."""
        return float(self.pdo) / math.log(2.0)

    @property
    def offset(self) -> float:
        """Points at odds of 1:1: ``base_score - factor * ln(base_odds)``."""
        return float(self.base_score) - self.factor * math.log(float(self.base_odds))

    def score_from_log_odds(self, log_odds_good: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Return points for natural-log odds of good (``-logit(pd)``)."""
        return self.offset + self.factor * np.asarray(log_odds_good, dtype=np.float64)

    def log_odds_from_score(self, score: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Return the natural-log odds of good for points."""
        return (np.asarray(score, dtype=np.float64) - self.offset) / self.factor

    def score_from_pd(self, pd: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Return points for probabilities of default.

        Parameters
        ----------
        pd
            Probabilities of default in [0, 1]; 0 gives ``+inf`` and 1 gives ``-inf``.

        Returns
        -------
        numpy.ndarray
            Points, float64, the shape of ``pd``.

        Raises
        ------
        ValidationError
            When a value lies outside [0, 1] or is NaN.
        """
        p = np.asarray(pd, dtype=np.float64)
        if not np.all((p >= 0.0) & (p <= 1.0)):
            raise ValidationError("pd must lie in [0, 1]", field="pd")
        with np.errstate(divide="ignore"):
            log_odds_good = np.log1p(-p) - np.log(p)
        return self.score_from_log_odds(log_odds_good)

    def pd_from_score(self, score: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Return probabilities of default in [0, 1] for points (inverse of ``score_from_pd``)."""
        return np.asarray(expit(-self.log_odds_from_score(score)), dtype=np.float64)
