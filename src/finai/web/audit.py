"""The audit page: the newest chain entries and a button that verifies the whole chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from finai.api.deps import PlatformDep, SessionDep
from finai.security import audit
from finai.web.auth import Viewer, ViewerDep
from finai.web.render import render
from finai.web.routing import WebRoute
from finai.web.session import Flash

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    before: int | None = None,
    flash: Flash | None = None,
) -> Response:
    entries = audit.entries(session, limit=PAGE_SIZE, before=before)
    older = entries[-1].seq if len(entries) == PAGE_SIZE and entries[-1].seq > 1 else None
    context = {"entries": entries, "older": older, "before": before}
    return render(request, "audit.html", context, viewer=viewer, flash=flash)


@router.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Show the newest audit entries, or those before a sequence number."""
    return _page(request, session, viewer, before)


@router.post("/audit/verify")
def verify(
    request: Request, session: SessionDep, platform: PlatformDep, viewer: ViewerDep
) -> Response:
    """Walk the whole chain and show whether it is intact or where it breaks."""
    result = audit.verify(session, platform.audit_key)
    if result.ok:
        flash = Flash("ok", f"Chain intact: {result.count} entries")
    else:
        flash = Flash("error", f"Chain broken at entry {result.first_bad_seq}: {result.reason}")
    return _page(request, session, viewer, flash=flash)
