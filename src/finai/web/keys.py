"""The API keys page (admins): list, create (token shown once) and revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response
from sqlalchemy.orm import Session

from finai import security
from finai.api.deps import PlatformDep, SessionDep
from finai.api.errors import status_for
from finai.exceptions import FinAIError, ValidationError
from finai.security import Role
from finai.store import utcnow
from finai.web.auth import Viewer, ViewerDep
from finai.web.render import redirect, render
from finai.web.routing import WebRoute
from finai.web.session import Flash

router = APIRouter(route_class=WebRoute, include_in_schema=False)

KeyId = Annotated[str, Path(max_length=32)]


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    token: str | None = None,
    flash: Flash | None = None,
    status_code: int = 200,
) -> Response:
    context = {"keys": security.list_keys(session), "roles": list(Role), "token": token}
    return render(
        request, "keys.html", context, viewer=viewer, flash=flash, status_code=status_code
    )


def expiry_days(value: str) -> timedelta | None:
    """Parse the form's optional lifetime in whole days (blank: never expires)."""
    if not value.strip():
        return None
    try:
        days = int(value)
    except ValueError:
        raise ValidationError("expiry must be a whole number of days", field="expires") from None
    if not 1 <= days <= 3650:
        raise ValidationError("expiry must lie between 1 and 3650 days", field="expires")
    return timedelta(days=days)


@router.get("/keys")
def keys(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """List every key (never their secrets) with a form to create one."""
    return _page(request, session, viewer)


@router.post("/keys")
def create_key(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    expires: Annotated[str, Form()] = "",
) -> Response:
    """Create a key and show its token, once, on this page only."""
    try:
        lifetime = expiry_days(expires)
        created, token = security.create_key(
            session,
            platform.audit_key,
            name=name.strip(),
            role=role,
            actor=viewer.key.id,
            expires_at=utcnow() + lifetime if lifetime else None,
        )
        session.commit()
    except FinAIError as exc:
        session.rollback()
        error = Flash("error", str(exc))
        return _page(request, session, viewer, flash=error, status_code=status_for(exc))
    done = Flash("ok", f"Created key {created.name!r} ({created.role.value}).")
    return _page(request, session, viewer, token=token, flash=done)


@router.post("/keys/{key_id}/revoke")
def revoke_key(
    request: Request, key_id: KeyId, session: SessionDep, platform: PlatformDep, viewer: ViewerDep
) -> Response:
    """Revoke a key; it stops working at once, in the API and here."""
    try:
        revoked = security.revoke_key(
            session, platform.audit_key, key_id=key_id, actor=viewer.key.id
        )
        session.commit()
    except FinAIError as exc:
        return redirect(request, "/keys", Flash("error", str(exc)))
    return redirect(request, "/keys", Flash("ok", f"Revoked key {revoked.name!r}."))
