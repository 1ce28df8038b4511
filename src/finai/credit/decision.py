"""Decisions: outcome, PD, score, limit and reasons, from a model and a policy."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import pandas as pd

from finai.credit.artifact import CreditModel
from finai.credit.policy import Outcome, Policy
from finai.credit.reasons import Reason
from finai.store import utcnow

MAX_REASONS = 4
INCOME_UNKNOWN = "Income was not provided, so affordability must be assessed by a person"


@dataclass(frozen=True)
class Decision:
    """One credit decision and everything needed to explain it later.

    Attributes
    ----------
    pd
        Probability of default in [0, 1].
    score
        Credit score points (higher is better).
    limit
        Credit limit in ``currency``; 0 on decline, None when it needs a person.
    input_hash
        sha256 of the applicant's inputs as given (canonical JSON).
    reasons
        Up to four adverse-action reasons, knock-outs first.
    """

    id: str
    outcome: Outcome
    pd: float
    score: float
    limit: Decimal | None
    currency: str
    model_name: str
    model_version: int
    policy_version: int
    input_hash: str
    reasons: tuple[Reason, ...]
    knockouts: tuple[str, ...]
    applicant_ref: str | None
    created_at: datetime


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def input_hash(row: dict[str, Any]) -> str:
    """Hash an applicant's inputs so equal inputs always give equal hashes."""
    canonical = {str(k): _jsonable(v) for k, v in row.items()}
    body = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def decide(
    frame: pd.DataFrame,
    model: CreditModel,
    policy: Policy,
    *,
    model_name: str,
    model_version: int,
    policy_version: int,
    ref_column: str | None = None,
) -> list[Decision]:
    """Decide every row of ``frame``.

    Parameters
    ----------
    frame
        One row per applicant with at least the model's feature columns; other
        columns (e.g. those knock-out rules or limits read) are used by the policy.
    model
        The credit model.
    policy
        The lending policy.
    model_name, model_version, policy_version
        The versions in force, recorded on each decision.
    ref_column
        A column holding the lender's own applicant reference, if any.

    Returns
    -------
    list[Decision]
        In the order of ``frame``; the same inputs and versions always give the same
        outcome, PD, score, limit and reasons.

    Raises
    ------
    ValidationError
        When a feature column is missing or holds unusable values.
    """
    features = model.features(frame)
    pds = model.predict_pd(features)
    scores = model.scores(features)
    reasons = model.reasons(features, n=MAX_REASONS)
    records = cast(list[dict[str, Any]], frame.to_dict(orient="records"))
    now = utcnow()
    decisions = []
    for i, row in enumerate(records):
        pd_value = float(pds[i])
        hits = policy.knockouts_hit(row)
        knockout_reasons = [
            Reason(feature=k.field, value=str(row.get(k.field)), contribution=0.0, text=k.reason)
            for k in hits
        ]
        outcome = Outcome.DECLINE if hits else policy.outcome_for(pd_value)
        limit: Decimal | None = Decimal("0.00")
        extra: list[Reason] = []
        if outcome is not Outcome.DECLINE:
            limit = policy.limit_for(pd_value, row)
            if limit is None:
                outcome = Outcome.REFER
                field = policy.limits.income_field or "income"
                extra = [Reason(field, "missing", 0.0, INCOME_UNKNOWN)]
        chosen = (knockout_reasons + extra + list(reasons[i]))[:MAX_REASONS]
        ref = row.get(ref_column) if ref_column else None
        decisions.append(
            Decision(
                id=secrets.token_hex(16),
                outcome=outcome,
                pd=pd_value,
                score=round(float(scores[i]), 2),
                limit=limit,
                currency=policy.limits.currency,
                model_name=model_name,
                model_version=model_version,
                policy_version=policy_version,
                input_hash=input_hash(
                    {k: v for k, v in row.items() if k != ref_column} if ref_column else row
                ),
                reasons=tuple(chosen),
                knockouts=tuple(k.id for k in hits),
                applicant_ref=None if ref is None else str(ref)[:100],
                created_at=now,
            )
        )
    return decisions
