"""Applicants' personal data: sealed per person beside their decisions, found by national id.

Models decide on features (income, term, ...) that are not kept; who the applicant is
(name, national id, address, contact details, notes) may be needed later — to write
to them, to answer their access request — and is kept only sealed under the person's
own data key (:mod:`finai.security.vault`). Their decisions are found again through
the blind index of the national id, and erasing the person makes all of it unreadable
while the decisions stay.

The applicant's values named by a decision's reasons (an income, an age) are personal
too: the decision row keeps its reasons without them (:mod:`finai.credit.records`), and
the full reasons are sealed here with the person's data, bound to the decision's id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finai.credit.decision import Decision
from finai.credit.reasons import Reason
from finai.exceptions import IntegrityError, NotFound, ValidationError
from finai.security import audit
from finai.security.vault import Erased, Vault
from finai.store import CreditApplicantRow, CreditDecisionRow, DataKeyRow

PURPOSE = "credit.applicant"
SUBJECT_FIELD = "national_id"
FIELDS = ("name", "national_id", "address", "email", "phone", "date_of_birth", "notes")
_REASONS = "reasons"
"""Key of the sealed record holding the decision's full reasons (not a personal field)."""
_DECISION = "decision_id"
"""Key of the sealed record binding those reasons to their decision."""


def store_personal(
    session: Session,
    vault: Vault,
    *,
    decision_id: str,
    personal: Mapping[str, Any],
    reasons: Sequence[Reason] = (),
) -> None:
    """Seal an applicant's personal fields beside their decision; the caller commits.

    ``reasons`` are the decision's reasons with the applicant's values, as decided
    (the stored decision keeps them without): sealed with the fields, read back by
    :func:`with_values`.

    Raises
    ------
    ValidationError
        Without a national id, or with a field FinAI does not keep.
    Erased
        When this person was erased (new data about them is refused, not re-keyed).
    """
    unknown = sorted(set(personal) - set(FIELDS))
    if unknown:
        raise ValidationError(f"unknown personal fields: {unknown}", field="personal")
    subject = personal.get(SUBJECT_FIELD)
    if not isinstance(subject, str) or not subject.strip():
        raise ValidationError("personal data needs the national id", field=SUBJECT_FIELD)
    fields: dict[str, Any] = {k: v for k, v in personal.items() if v is not None}
    if reasons:
        fields[_REASONS] = [list(r) for r in reasons]
        fields[_DECISION] = decision_id
    sealed = vault.seal(session, subject, fields, purpose=PURPOSE)
    session.add(
        CreditApplicantRow(
            decision_id=decision_id, subject=vault.subject_index(subject), sealed=sealed
        )
    )


def read_personal(
    session: Session, vault: Vault, audit_key: bytes, *, decision_id: str, actor: str
) -> dict[str, Any]:
    """Open the personal data of a decision's applicant; every reading is audited.

    The caller commits (the audit entry).

    Raises
    ------
    NotFound
        When the decision holds no personal data.
    Erased
        When the person was erased.
    """
    row = session.get(CreditApplicantRow, decision_id)
    if row is None:
        raise NotFound(f"decision {decision_id} holds no personal data", field="decision_id")
    opened = vault.open(session, row.sealed, purpose=PURPOSE)
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="personal.read",
        object_type="credit_decision",
        object_id=decision_id,
        payload={"subject_index": row.subject},
    )
    return {k: v for k, v in opened.items() if k in FIELDS}


def with_values(
    session: Session, vault: Vault, audit_key: bytes, *, decision: Decision, actor: str
) -> Decision:
    """Return a stored decision with its reasons' values, where its person's data holds them.

    The values come from the applicant's sealed record; opening them is audited
    (``personal.read`` of the ``reasons``) and the caller commits. A decision sent
    without personal data, or whose person was erased, comes back as stored: its
    reasons without values.

    Raises
    ------
    IntegrityError
        When the sealed record was altered or belongs to another decision.
    """
    row = session.get(CreditApplicantRow, decision.id)
    if row is None:
        return decision
    try:
        opened = vault.open(session, row.sealed, purpose=PURPOSE)
    except Erased:
        return decision
    sealed = opened.get(_REASONS)
    if sealed is None:
        return decision
    if opened.get(_DECISION) != decision.id:
        raise IntegrityError("sealed reasons belong to another decision")
    reasons = tuple(Reason(str(f), str(v), float(c), str(t)) for f, v, c, t in sealed)
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="personal.read",
        object_type="credit_decision",
        object_id=decision.id,
        payload={"subject_index": row.subject, "fields": [_REASONS]},
    )
    return replace(decision, reasons=reasons)


def decisions_of(
    session: Session, vault: Vault, audit_key: bytes, *, national_id: str, actor: str
) -> list[str]:
    """Return the ids of a person's decisions, newest first, found by blind index (audited)."""
    subject = vault.subject_index(national_id)
    found = list(
        session.scalars(
            select(CreditApplicantRow.decision_id)
            .join(CreditDecisionRow, CreditDecisionRow.id == CreditApplicantRow.decision_id)
            .where(CreditApplicantRow.subject == subject)
            .order_by(CreditDecisionRow.created_at.desc())
        )
    )
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="personal.search",
        object_type="subject",
        object_id=subject,
        payload={"found": len(found)},
    )
    return found


def erase_expired(
    session: Session, vault: Vault, audit_key: bytes, *, before: datetime, actor: str
) -> int:
    """Erase everyone whose newest personal data is older than ``before`` (retention).

    Their decisions stay; their personal data becomes unreadable. The caller commits.

    Returns
    -------
    int
        How many people were erased now.
    """
    newest = (
        select(CreditApplicantRow.subject)
        .group_by(CreditApplicantRow.subject)
        .having(func.max(CreditApplicantRow.created_at) < before)
    )
    live = select(DataKeyRow.subject).where(
        DataKeyRow.subject.in_(newest), DataKeyRow.wrapped.is_not(None)
    )
    subjects = list(session.scalars(live))
    for subject in subjects:
        vault.erase_index(session, audit_key, subject=subject, actor=actor, reason="retention")
    return len(subjects)
