"""The audit chain over HTTP (admins and auditors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from finai.api.deps import PlatformDep, SessionDep, authorize_api
from finai.api.schemas import AuditEntriesPublic, AuditEntryPublic, VerifyPublic
from finai.security import audit

router = APIRouter(prefix="/v1/audit", dependencies=[Depends(authorize_api)], tags=["audit"])


@router.get("/entries")
def list_entries(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    action: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z][a-z0-9_.]*$")] = None,
) -> AuditEntriesPublic:
    """Page through entries, newest first; ``before`` continues from a sequence number."""
    data = [
        AuditEntryPublic.from_domain(e)
        for e in audit.entries(session, limit=limit, before=before, action=action)
    ]
    return AuditEntriesPublic(data=data, count=len(data))


@router.get("/verify")
def verify(session: SessionDep, platform: PlatformDep) -> VerifyPublic:
    """Walk the whole chain and report the first break, if any."""
    return VerifyPublic.from_domain(audit.verify(session, platform.audit_key))
