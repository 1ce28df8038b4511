"""Champion against challenger: how the shadow answers compare with the live decisions.

While a model has a challenger, every live decision made with its champion is also
decided by the challenger in shadow (:mod:`finai.credit.shadow`). This report reads
those pairs back:

* **agreement**: the share of decisions where both gave the same outcome, and the
  table of champion by challenger of outcomes (approve, refer, decline);
* **PSI** of the challenger's scores against the champion's, over the same
  applicants: bins are the deciles of the champion's scores, shares compared with
  :func:`finai.governance.drift.psi` (below 0.1 the two score alike, above 0.25 they
  score these applicants very differently; it also moves when the two models use
  different score scalings);
* **mean PD** of each over the same applicants;
* **AUC** of each on the decisions whose outcome has been reported
  (``POST /v1/credit/outcomes``), computed by :func:`finai.credit.evaluate`; none
  while the reported outcomes hold no default or no repayment ("too few outcomes").

Outcomes are only observed for loans that were made, and which loans were made is
the champion's choice: the AUCs compare the two models on the champion's approvals,
not on everybody who applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from finai import credit
from finai.governance.drift import psi

__all__ = [
    "OUTCOME_LABELS",
    "PSI_BINS",
    "TOO_FEW_OUTCOMES",
    "ChallengerComparison",
    "compare",
    "comparison",
]

OUTCOME_LABELS: tuple[str, ...] = tuple(o.value for o in credit.Outcome)
"""The outcomes in the order of the agreement table's rows and columns."""

PSI_BINS = 10
"""Quantile bins of the champion's scores the PSI compares (fewer when scores tie)."""

TOO_FEW_OUTCOMES = (
    "too few outcomes: the reported outcomes need at least one default and one repayment"
)


@dataclass(frozen=True)
class ChallengerComparison:
    """The champion's decisions against its challenger's shadow answers.

    Attributes
    ----------
    name
        The model.
    challenger_version
        The challenger whose answers are compared; None when there are none.
    champion_versions
        The versions that made the decisions.
    count
        Decisions with a shadow answer.
    agreement
        Share of them with the same outcome from both, in [0, 1]; None without any.
    table
        ``table[i][j]``: decisions the champion gave outcome ``OUTCOME_LABELS[i]`` and
        the challenger ``OUTCOME_LABELS[j]``.
    psi
        PSI of the challenger's scores against the champion's; None without any.
    champion_mean_pd, challenger_mean_pd
        Mean PD of each over the same decisions; None without any.
    with_outcomes, defaults
        Decisions with a reported outcome, and how many of them defaulted.
    champion_auc, challenger_auc
        ROC AUC of each model's PD against the reported defaults; None with too few.
    auc_note
        Why there is no AUC, if there is none.
    """

    name: str
    challenger_version: int | None
    champion_versions: tuple[int, ...]
    count: int
    agreement: float | None
    table: tuple[tuple[int, ...], ...]
    psi: float | None
    champion_mean_pd: float | None
    challenger_mean_pd: float | None
    with_outcomes: int
    defaults: int
    champion_auc: float | None
    challenger_auc: float | None
    auc_note: str | None

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The outcomes in the order of :attr:`table`'s rows and columns."""
        return OUTCOME_LABELS

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe values (the CLI's ``--json`` object and the API's body)."""
        return {
            "name": self.name,
            "challenger_version": self.challenger_version,
            "champion_versions": list(self.champion_versions),
            "count": self.count,
            "agreement": self.agreement,
            "outcomes": list(self.outcomes),
            "table": [list(row) for row in self.table],
            "psi": self.psi,
            "champion_mean_pd": self.champion_mean_pd,
            "challenger_mean_pd": self.challenger_mean_pd,
            "with_outcomes": self.with_outcomes,
            "defaults": self.defaults,
            "champion_auc": self.champion_auc,
            "challenger_auc": self.challenger_auc,
            "auc_note": self.auc_note,
        }


def _score_psi(champion: npt.NDArray[np.float64], challenger: npt.NDArray[np.float64]) -> float:
    inner = np.unique(np.quantile(champion, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    bins = len(inner) + 1
    expected = np.bincount(np.searchsorted(inner, champion, side="right"), minlength=bins)
    actual = np.bincount(np.searchsorted(inner, challenger, side="right"), minlength=bins)
    return psi((expected / len(champion)).tolist(), (actual / len(challenger)).tolist())


def compare(pairs: credit.ShadowPairs) -> ChallengerComparison:
    """Compare the champion's decisions with the challenger's shadow answers.

    Parameters
    ----------
    pairs
        The decisions and shadow answers (:func:`finai.credit.shadow_pairs`).

    Returns
    -------
    ChallengerComparison
        With no pairs: count 0 and no figures.
    """
    n = len(pairs)
    k = len(OUTCOME_LABELS)
    position = {label: i for i, label in enumerate(OUTCOME_LABELS)}
    table = np.zeros((k, k), dtype=np.int64)
    for champion, challenger in zip(
        pairs.champion_outcome.tolist(), pairs.challenger_outcome.tolist(), strict=True
    ):
        table[position[champion], position[challenger]] += 1
    known = ~np.isnan(pairs.defaulted)
    y = pairs.defaulted[known].astype(np.int64)
    defaults = int(y.sum())
    aucs: tuple[float | None, float | None] = (None, None)
    note: str | None = TOO_FEW_OUTCOMES
    if 0 < defaults < len(y):
        aucs = (
            credit.evaluate(y, pairs.champion_pd[known]).auc,
            credit.evaluate(y, pairs.challenger_pd[known]).auc,
        )
        note = None
    return ChallengerComparison(
        name=pairs.name,
        challenger_version=pairs.challenger_version,
        champion_versions=pairs.champion_versions,
        count=n,
        agreement=float(np.trace(table) / n) if n else None,
        table=tuple(tuple(int(c) for c in row) for row in table),
        psi=_score_psi(pairs.champion_score, pairs.challenger_score) if n else None,
        champion_mean_pd=float(pairs.champion_pd.mean()) if n else None,
        challenger_mean_pd=float(pairs.challenger_pd.mean()) if n else None,
        with_outcomes=len(y),
        defaults=defaults,
        champion_auc=aucs[0],
        challenger_auc=aucs[1],
        auc_note=note,
    )


def comparison(session: Session, name: str, version: int | None = None) -> ChallengerComparison:
    """Compare ``name``'s champion decisions with its challenger's shadow answers.

    Parameters
    ----------
    session
        Where decisions, shadow answers and outcomes are stored.
    name
        The model.
    version
        The challenger version; None takes the current challenger, else the one that
        answered most recently.

    Raises
    ------
    NotFound
        For an unknown model or version.
    """
    return compare(credit.shadow_pairs(session, name, version))
