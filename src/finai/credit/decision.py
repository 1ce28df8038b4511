"""Decisions: outcome, PD, score, limit and reasons, from a model and a policy."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from finai.credit.artifact import CreditModel
from finai.credit.policy import OUTCOMES, Applications, Outcome, Policy, as_money
from finai.credit.reasons import MAX_REASONS, Assessment, Reason
from finai.store import utcnow

REFER = OUTCOMES.index(Outcome.REFER)
DECLINE = OUTCOMES.index(Outcome.DECLINE)
INCOME_UNKNOWN = "Income was not provided, so affordability must be assessed by a person"
OUTCOME_TEXTS = pa.array([o.value for o in OUTCOMES], pa.string())
TEXT_COLUMN = pd.StringDtype(storage="pyarrow", na_value=np.nan)
"""pandas' default text column (``str``): what batch results hold, built from Arrow."""


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
    bins
        The bin of the model's training reference each feature fell in, by feature
        name (for drift monitoring; the values themselves are not kept); None when the
        model has no reference.
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
    bins: dict[str, int] | None = field(default=None, hash=False)


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


@dataclass(frozen=True)
class DecisionColumns:
    """Decisions for a batch, one array per field (what :func:`decide` and batch scoring share).

    Attributes
    ----------
    outcome
        Indices into :data:`~finai.credit.policy.OUTCOMES`.
    limit_cents
        The credit limit in whole cents; 0 on decline, NaN when it needs a person.
    knockouts
        Rows by the policy's knock-out rules: True where the rule fired.
    income_unknown
        True where the limit needs a person because income was not given.
    assessment
        The model's PD, score and per-feature harm.
    """

    outcome: npt.NDArray[np.intp]
    limit_cents: npt.NDArray[np.float64]
    knockouts: npt.NDArray[np.bool_]
    income_unknown: npt.NDArray[np.bool_]
    assessment: Assessment

    @property
    def scores(self) -> npt.NDArray[np.float64]:
        """Scores rounded to two decimals, as decisions report them."""
        return np.round(self.assessment.score, 2)


def decide_columns(frame: pd.DataFrame, model: CreditModel, policy: Policy) -> DecisionColumns:
    """Decide every row of ``frame`` in whole columns: one model pass, vectorised policy.

    Knock-outs decline whatever the PD; otherwise the PD cut-offs decide, and an
    approval or referral whose limit needs an unknown income is referred.

    Raises
    ------
    ValidationError
        When a feature column is missing or holds unusable values.
    """
    return apply_policy(model.assess(model.features(frame)), frame, policy)


def apply_policy(
    assessment: Assessment, applications: Applications, policy: Policy
) -> DecisionColumns:
    """Apply the policy to assessed applicants (a table, or one applicant's values)."""
    knockouts = policy.knockout_matrix(applications)
    outcome = policy.outcome_codes(assessment.pd)
    outcome[knockouts.any(axis=1)] = DECLINE
    limit = policy.limit_cents(assessment.pd, applications)
    declined = outcome == DECLINE
    income_unknown = np.isnan(limit) & ~declined
    outcome[income_unknown] = REFER
    limit[declined] = 0.0
    return DecisionColumns(outcome, limit, knockouts, income_unknown, assessment)


def policy_reasons(
    columns: DecisionColumns, policy: Policy, applications: Applications, row: int
) -> list[Reason]:
    """Return the policy's reasons for one row: knock-outs fired, then missing income."""
    reasons = []
    for j in np.flatnonzero(columns.knockouts[row]):
        rule = policy.knockouts[j]
        reasons.append(
            Reason(rule.field, str(_raw(applications, rule.field, row)), 0.0, rule.reason)
        )
    if columns.income_unknown[row]:
        field = policy.limits.income_field or "income"
        reasons.append(Reason(field, "missing", 0.0, INCOME_UNKNOWN))
    return reasons


def _raw(applications: Applications, field: str, row: int) -> Any:
    """Return the field's value as given in ``row`` (None where the field is absent)."""
    if isinstance(applications, pd.DataFrame):
        return applications[field].iloc[row] if field in applications.columns else None
    return applications.get(field)


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
        outcome, PD, score, limit and reasons (knock-outs first, then missing income,
        then the model's, at most four).

    Raises
    ------
    ValidationError
        When a feature column is missing or holds unusable values.
    """
    features = model.features(frame)
    columns = apply_policy(model.assess(features), frame, policy)
    bins = None if model.reference is None else model.reference.bin_rows(features)
    records = cast(list[dict[str, Any]], frame.to_dict(orient="records"))
    refs = [row.pop(ref_column, None) if ref_column else None for row in records]
    versions = (model_name, model_version, policy_version)
    return _decisions(columns, model, policy, frame, records, refs, versions, bins)


def decide_row(
    applicant: Mapping[str, Any],
    model: CreditModel,
    policy: Policy,
    *,
    model_name: str,
    model_version: int,
    policy_version: int,
    applicant_ref: str | None = None,
) -> Decision:
    """Decide one applicant without building a table (the path of a single API request).

    The decision is the one :func:`decide` gives for ``pandas.DataFrame([applicant])``
    (the applicant's reference, if any, in a ``ref_column``): the same outcome, PD,
    score, limit, reasons and input hash, and the same errors. The model's part is
    :meth:`~finai.credit.CreditModel.assess_row`, the policy's the same column rules
    applied to one row.

    Parameters
    ----------
    applicant
        The applicant's values by field name (at least the model's features).
    model, policy, model_name, model_version, policy_version
        As for :func:`decide`.
    applicant_ref
        The lender's own reference for the applicant, if any (not part of the hash).

    Raises
    ------
    ValidationError
        When a feature is missing or holds an unusable value.
    """
    assessment, bins = model.assess_row_binned(applicant)
    columns = apply_policy(assessment, applicant, policy)
    versions = (model_name, model_version, policy_version)
    return _decisions(
        columns,
        model,
        policy,
        applicant,
        [dict(applicant)],
        [applicant_ref],
        versions,
        None if bins is None else [bins],
    )[0]


def _decisions(
    columns: DecisionColumns,
    model: CreditModel,
    policy: Policy,
    applications: Applications,
    records: list[dict[str, Any]],
    refs: list[Any],
    versions: tuple[str, int, int],
    bins: list[dict[str, int]] | None,
) -> list[Decision]:
    """Build one :class:`Decision` per row from the decided columns and the inputs as given."""
    model_name, model_version, policy_version = versions
    model_reasons = columns.assessment.reasons(MAX_REASONS, model.labels)
    pds = columns.assessment.pd.tolist()
    scores = columns.scores.tolist()
    outcomes = [OUTCOMES[k] for k in columns.outcome.tolist()]
    special = columns.knockouts.any(axis=1) | columns.income_unknown
    rule_ids = np.array([rule.id for rule in policy.knockouts], dtype=object)
    now = utcnow()
    decisions = []
    for i, row in enumerate(records):
        reasons = model_reasons[i]
        if special[i]:
            reasons = (policy_reasons(columns, policy, applications, i) + reasons)[:MAX_REASONS]
        cents = columns.limit_cents[i]
        ref = refs[i]
        decisions.append(
            Decision(
                id=secrets.token_hex(16),
                outcome=outcomes[i],
                pd=pds[i],
                score=scores[i],
                limit=None if math.isnan(cents) else as_money(cents),
                currency=policy.limits.currency,
                model_name=model_name,
                model_version=model_version,
                policy_version=policy_version,
                input_hash=input_hash(row),
                reasons=tuple(reasons),
                knockouts=tuple(rule_ids[columns.knockouts[i]]),
                applicant_ref=None if ref is None else str(ref)[:100],
                created_at=now,
                bins=None if bins is None else bins[i],
            )
        )
    return decisions


def score_frame(frame: pd.DataFrame, model: CreditModel, policy: Policy) -> pd.DataFrame:
    """Decide every row without storing anything: one result row per input row.

    Returns
    -------
    pandas.DataFrame
        ``pd``, ``score``, ``outcome``, ``limit`` (NaN when a person must set it),
        ``currency`` and ``reasons`` (the decision's reason texts joined by " | "), with
        ``frame``'s index. The same rows give the same results as :func:`decide`.
    """
    columns = decide_columns(frame, model, policy)
    special = np.flatnonzero(columns.knockouts.any(axis=1) | columns.income_unknown).tolist()
    first = {i: [r.text for r in policy_reasons(columns, policy, frame, i)] for i in special}
    reasons = columns.assessment.joined(MAX_REASONS, model.labels, first)
    outcomes = OUTCOME_TEXTS.take(pa.array(columns.outcome))
    return pd.DataFrame(
        {
            "pd": columns.assessment.pd,
            "score": columns.scores,
            "outcome": pd.array(outcomes, dtype=TEXT_COLUMN),
            "limit": columns.limit_cents / 100.0,
            "currency": policy.limits.currency,
            "reasons": pd.array(reasons, dtype=TEXT_COLUMN),
        },
        index=frame.index,
    )
