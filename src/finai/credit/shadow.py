"""Shadow scoring: a challenger decides the same applicants as the champion, apart.

When a model has a challenger (:func:`finai.registry.challenge`), every live decision
made with its champion is also decided by the challenger, from the same inputs and with
the same policy. The challenger's outcome, PD and score are stored in
``credit_shadow_decisions`` against the decision's id, in the decision's transaction.
They never change the decision, what is stored for it, or what the caller is told; a
challenger that cannot be loaded or cannot score is logged, counted through the
caller's hook, and the decision goes through without a shadow answer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from finai import registry
from finai.credit.artifact import CreditModel
from finai.credit.decision import Decision, DecisionColumns, apply_policy, decide_columns
from finai.credit.policy import OUTCOMES, Policy
from finai.store import CreditDecisionRow, CreditOutcomeRow, CreditShadowRow, utcnow

__all__ = [
    "FailureHook",
    "ShadowModel",
    "ShadowPairs",
    "record_shadow",
    "shadow_pairs",
]

logger = logging.getLogger(__name__)

ShadowModel = tuple[registry.ModelVersion, CreditModel]
"""A challenger's registered version and its loaded model."""

FailureHook = Callable[[str], None]
"""Called with the model's name when its challenger could not answer (e.g. a counter)."""


def _columns(
    model: CreditModel, policy: Policy, applications: pd.DataFrame | Mapping[str, Any]
) -> DecisionColumns:
    if isinstance(applications, pd.DataFrame):
        return decide_columns(applications, model, policy)
    return apply_policy(model.assess_row(applications), applications, policy)


def record_shadow(
    session: Session,
    decisions: Sequence[Decision],
    applications: pd.DataFrame | Mapping[str, Any],
    policy: Policy,
    challenger: Callable[[], ShadowModel | None],
    *,
    on_failure: FailureHook | None = None,
) -> int:
    """Decide ``applications`` again with the challenger and store its answers apart.

    Parameters
    ----------
    session
        The decisions' session; the rows are added to its transaction (the caller
        commits), after the decisions they refer to.
    decisions
        The champion's decisions, already stored, one per application in order.
    applications
        The same inputs the champion decided: a table, or one applicant's values.
    policy
        The policy the champion decided with.
    challenger
        Returns the challenger's version and model, or None when there is none.
        Called once; what it raises counts as the challenger failing.
    on_failure
        Called with the model's name when the challenger could not answer.

    Returns
    -------
    int
        Shadow answers stored: one per decision, or 0 (no challenger, or it failed).

    Raises
    ------
    sqlalchemy.exc.SQLAlchemyError
        Only a database error: the decisions' transaction cannot be committed then
        either. Any other error of the challenger is logged (its class, not its
        message, which may quote an applicant's values) and swallowed.
    """
    if not decisions:
        return 0
    name = decisions[0].model_name
    try:
        found = challenger()
        if found is None:
            return 0
        info, model = found
        columns = _columns(model, policy, applications)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # a broken challenger must never fail a live decision
        logger.warning(
            "challenger could not score; decisions stand without shadow answers",
            extra={"model": name, "rows": len(decisions), "error": type(exc).__name__},
        )
        if on_failure is not None:
            on_failure(name)
        return 0
    outcomes = [OUTCOMES[k].value for k in columns.outcome.tolist()]
    pds = columns.assessment.pd.tolist()
    scores = columns.scores.tolist()
    now = utcnow()
    session.execute(
        insert(CreditShadowRow),
        [
            {
                "decision_id": decision.id,
                "created_at": now,
                "model_name": info.name,
                "model_version": info.version,
                "outcome": outcome,
                "pd": pd_,
                "score": score,
            }
            for decision, outcome, pd_, score in zip(decisions, outcomes, pds, scores, strict=True)
        ],
    )
    return len(decisions)


@dataclass(frozen=True)
class ShadowPairs:
    """Stored champion decisions beside their challenger's shadow answers, row by row.

    Attributes
    ----------
    name
        The model.
    challenger_version
        The challenger version the answers come from; None when there are none.
    champion_versions
        The versions that made the decisions (more than one after a promotion).
    champion_outcome, challenger_outcome
        ``approve``, ``refer`` or ``decline`` per decision.
    champion_pd, challenger_pd
        PD in [0, 1] per decision.
    champion_score, challenger_score
        Score points per decision.
    defaulted
        Per decision: 1.0 defaulted, 0.0 repaid, NaN no outcome reported yet.
    """

    name: str
    challenger_version: int | None
    champion_versions: tuple[int, ...]
    champion_outcome: npt.NDArray[np.str_]
    challenger_outcome: npt.NDArray[np.str_]
    champion_pd: npt.NDArray[np.float64]
    challenger_pd: npt.NDArray[np.float64]
    champion_score: npt.NDArray[np.float64]
    challenger_score: npt.NDArray[np.float64]
    defaulted: npt.NDArray[np.float64]

    def __len__(self) -> int:
        """Decisions with a shadow answer."""
        return len(self.champion_outcome)


def shadow_pairs(session: Session, name: str, version: int | None = None) -> ShadowPairs:
    """Return the decisions of ``name`` that a challenger answered in shadow, with outcomes.

    Parameters
    ----------
    session
        Where decisions, shadow answers and outcomes are stored.
    name
        The model.
    version
        The challenger version; None takes the current challenger, else the version
        that answered most recently.

    Raises
    ------
    NotFound
        For an unknown model, or a version that does not exist.
    """
    if version is None:
        current = registry.challenger(session, name)
        if current is None:
            registry.get_version(session, name)  # an unknown name is not found
            version = session.scalar(
                select(CreditShadowRow.model_version)
                .where(CreditShadowRow.model_name == name)
                .order_by(CreditShadowRow.id.desc())
                .limit(1)
            )
        else:
            version = current.version
    else:
        registry.get_version(session, name, version)
    rows = session.execute(
        select(
            CreditDecisionRow.model_version,
            CreditDecisionRow.outcome,
            CreditDecisionRow.pd,
            CreditDecisionRow.score,
            CreditShadowRow.outcome,
            CreditShadowRow.pd,
            CreditShadowRow.score,
            CreditOutcomeRow.defaulted,
        )
        .join(CreditDecisionRow, CreditDecisionRow.id == CreditShadowRow.decision_id)
        .outerjoin(CreditOutcomeRow, CreditOutcomeRow.decision_id == CreditShadowRow.decision_id)
        .where(CreditShadowRow.model_name == name, CreditShadowRow.model_version == version)
        .order_by(CreditShadowRow.id)
    ).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 8
    defaulted = [math.nan if d is None else float(d) for d in columns[7]]
    return ShadowPairs(
        name=name,
        challenger_version=version,
        champion_versions=tuple(sorted({int(v) for v in columns[0]})),
        champion_outcome=np.array(columns[1], dtype=np.str_),
        challenger_outcome=np.array(columns[4], dtype=np.str_),
        champion_pd=np.array(columns[2], dtype=np.float64),
        challenger_pd=np.array(columns[5], dtype=np.float64),
        champion_score=np.array(columns[3], dtype=np.float64),
        challenger_score=np.array(columns[6], dtype=np.float64),
        defaulted=np.array(defaulted, dtype=np.float64),
    )
