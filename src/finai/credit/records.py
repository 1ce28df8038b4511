"""Persistence of policies and decisions, each change audited in the caller's transaction.

A decision is stored without the applicant's values: its reasons keep the feature, the
contribution and a text that names no value (``"monthly_income lowered the score by 46
points"``), and say :data:`WITHHELD` where the value was. The full reasons go back to the
caller once, in the answer; where personal data is sent with the decision they are kept
sealed with it, under the person's own data key (:mod:`finai.credit.personal`), so
erasing the person erases them too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, null, select
from sqlalchemy.orm import Session

from finai.credit.decision import Decision
from finai.credit.policy import Outcome, Policy, parse_policy
from finai.credit.reasons import Reason, value_text
from finai.exceptions import NotFound
from finai.security import audit
from finai.store import CreditDecisionRow, CreditPolicyRow, utcnow


@dataclass(frozen=True)
class PolicyVersion:
    """A stored policy and its version number."""

    version: int
    policy: Policy
    body: str
    sha256: str
    created_at: datetime
    created_by: str


def _policy_view(row: CreditPolicyRow) -> PolicyVersion:
    return PolicyVersion(
        version=row.version,
        policy=parse_policy(row.body),
        body=row.body,
        sha256=row.sha256,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def save_policy(session: Session, audit_key: bytes, *, text: str, actor: str) -> PolicyVersion:
    """Validate ``text`` and store it as the next policy version (audited).

    Raises
    ------
    ValidationError
        When the YAML is broken or a rule is invalid; nothing is stored.
    """
    policy = parse_policy(text)
    latest = session.scalar(select(func.max(CreditPolicyRow.version))) or 0
    digest = hashlib.sha256(text.encode()).hexdigest()
    row = CreditPolicyRow(
        version=latest + 1,
        name=policy.name,
        body=text,
        sha256=digest,
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="credit.policy.update",
        object_type="credit_policy",
        object_id=str(row.version),
        payload={"sha256": digest, "name": policy.name},
    )
    return _policy_view(row)


def current_policy(session: Session) -> PolicyVersion:
    """Return the newest policy version."""
    row = session.scalar(select(CreditPolicyRow).order_by(CreditPolicyRow.version.desc()).limit(1))
    if row is None:
        raise NotFound("no lending policy is stored; load one first", field="policy")
    return _policy_view(row)


_NEWEST_POLICY_KEY = (
    select(CreditPolicyRow.version, CreditPolicyRow.sha256)
    .order_by(CreditPolicyRow.version.desc())
    .limit(1)
)


def current_policy_key(session: Session) -> tuple[int, str]:
    """Return the newest policy's version and sha256 (one small query, nothing parsed).

    A service that keeps the parsed policy compares this with what it keeps. The query
    runs on the session's connection (its transaction) without the ORM's bookkeeping.
    """
    row = session.connection().execute(_NEWEST_POLICY_KEY).first()
    if row is None:
        raise NotFound("no lending policy is stored; load one first", field="policy")
    return int(row.version), str(row.sha256)


def get_policy(session: Session, version: int) -> PolicyVersion:
    """Return one policy version."""
    row = session.get(CreditPolicyRow, version)
    if row is None:
        raise NotFound(f"no policy version {version}", field="version")
    return _policy_view(row)


WITHHELD = "withheld"
"""A stored reason's value where the applicant's value is not kept (or no longer readable)."""

MISSING = value_text(None)
"""A value that was not given: not personal, so kept as it is."""


def _withheld(reason: Reason) -> Reason:
    """Return ``reason`` as stored: its value replaced by :data:`WITHHELD`, none in its text.

    Model reasons read ``LABEL (VALUE) ...``: the parenthesis goes. Policy reasons
    (contribution 0) are the policy's own words, which hold no applicant value. A model
    reason worded otherwise keeps only its feature's name rather than risk the value.
    """
    if reason.value in (MISSING, WITHHELD):
        return reason
    shown = f" ({reason.value})"
    if shown in reason.text:
        text = reason.text.replace(shown, "", 1)
    elif reason.contribution == 0:
        text = reason.text
    else:
        text = f"{reason.feature} counted against the application"
    return Reason(reason.feature, WITHHELD, reason.contribution, text)


def withhold_values(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    """Return reasons as a decision stores them: without the applicant's values."""
    return tuple(_withheld(r) for r in reasons)


def as_stored(decision: Decision) -> Decision:
    """Return ``decision`` as :func:`get_decision` will read it back (values withheld)."""
    return replace(decision, reasons=withhold_values(decision.reasons))


def _stored_reason(reason: Reason) -> dict[str, object]:
    kept = _withheld(reason)
    stored: dict[str, object] = {
        "feature": kept.feature,
        "contribution": kept.contribution,
        "text": kept.text,
    }
    if kept.value == MISSING:
        stored["value"] = MISSING
    return stored


def _reason_view(stored: dict[str, Any]) -> Reason:
    # rows written before values were withheld still hold them; they are shown as stored
    return Reason(
        str(stored["feature"]),
        str(stored.get("value", WITHHELD)),
        float(stored["contribution"]),
        str(stored["text"]),
    )


def _row(decision: Decision, actor: str, batch_id: str | None) -> dict[str, object]:
    return {
        "id": decision.id,
        "created_at": decision.created_at,
        "actor": actor,
        "applicant_ref": decision.applicant_ref,
        "batch_id": batch_id,
        "model_name": decision.model_name,
        "model_version": decision.model_version,
        "policy_version": decision.policy_version,
        "input_hash": decision.input_hash,
        "outcome": decision.outcome.value,
        "pd": decision.pd,
        "score": decision.score,
        "credit_limit": decision.limit,
        "currency": decision.currency,
        "reasons": [_stored_reason(r) for r in decision.reasons],
        "knockouts": list(decision.knockouts),
        "bins": null() if decision.bins is None else decision.bins,
    }


def decision_digest(decision: Decision) -> str:
    """Hash what a decision says, for the audit chain."""
    parts = [
        decision.id,
        decision.outcome.value,
        repr(decision.pd),
        repr(decision.score),
        str(decision.limit),
        decision.model_name,
        str(decision.model_version),
        str(decision.policy_version),
        decision.input_hash,
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def save_decisions(
    session: Session,
    audit_key: bytes,
    decisions: list[Decision],
    *,
    actor: str,
    batch_id: str | None = None,
) -> None:
    """Store decisions and audit them in the caller's transaction.

    A single decision gets its own audit entry; a batch gets one entry carrying the
    batch id, the count and a sha256 over every decision's digest, so any stored
    decision can be checked against the chain.
    """
    if not decisions:
        return
    session.execute(insert(CreditDecisionRow), [_row(d, actor, batch_id) for d in decisions])
    if batch_id is None:
        for d in decisions:
            audit.append(
                session,
                audit_key,
                actor=actor,
                action="credit.decision",
                object_type="credit_decision",
                object_id=d.id,
                payload={"digest": decision_digest(d), "outcome": d.outcome.value},
            )
        return
    combined = hashlib.sha256("".join(decision_digest(d) for d in decisions).encode())
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="credit.decision.batch",
        object_type="credit_batch",
        object_id=batch_id,
        payload={"count": len(decisions), "digest": combined.hexdigest()},
    )


def _decision_view(row: CreditDecisionRow) -> Decision:
    return Decision(
        id=row.id,
        outcome=Outcome(row.outcome),
        pd=row.pd,
        score=row.score,
        limit=Decimal(row.credit_limit) if row.credit_limit is not None else None,
        currency=row.currency,
        model_name=row.model_name,
        model_version=row.model_version,
        policy_version=row.policy_version,
        input_hash=row.input_hash,
        reasons=tuple(_reason_view(r) for r in row.reasons),
        knockouts=tuple(row.knockouts),
        applicant_ref=row.applicant_ref,
        created_at=row.created_at,
        bins=row.bins,
    )


def get_decision(session: Session, decision_id: str) -> Decision:
    """Return a stored decision, its reasons' values :data:`WITHHELD`.

    :func:`finai.credit.personal.with_values` gives them back where the person's
    sealed data holds them.
    """
    row = session.get(CreditDecisionRow, decision_id)
    if row is None:
        raise NotFound(f"no decision with id {decision_id!r}", field="decision_id")
    return _decision_view(row)


def recent_decisions(session: Session, limit: int = 50) -> list[Decision]:
    """Return the newest decisions first."""
    rows = session.scalars(
        select(CreditDecisionRow).order_by(CreditDecisionRow.created_at.desc()).limit(limit)
    )
    return [_decision_view(r) for r in rows]
