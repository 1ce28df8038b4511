"""Signing in with an API key and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from finai.api.deps import PlatformDep, SessionDep, get_platform, record_use
from finai.exceptions import AuthenticationError
from finai.security import authenticate
from finai.web.auth import MaybeViewer, ViewerDep, session_seconds
from finai.web.render import redirect, render
from finai.web.routing import WebRoute
from finai.web.session import (
    SESSION_COOKIE,
    Flash,
    clear_cookie,
    new_session,
    seal_session,
    set_cookie,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _hours(request: Request) -> dict[str, float]:
    return {"session_hours": get_platform(request).settings.session_hours}


@router.get("/login")
def login_form(request: Request, viewer: MaybeViewer) -> Response:
    """Show the sign-in form (or go home when already signed in)."""
    if viewer is not None:
        return redirect(request, "/")
    return render(request, "login.html", _hours(request), viewer=None)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    api_key: Annotated[str, Form()] = "",
) -> Response:
    """Check the API key and start a session holding its id, never the key itself."""
    try:
        key = authenticate(session, api_key.strip())
    except AuthenticationError:
        error = Flash("error", "That API key is not valid, or it was revoked or has expired.")
        return render(
            request, "login.html", _hours(request), viewer=None, status_code=401, flash=error
        )
    record_use(session, key)
    sealed = seal_session(platform.audit_key, new_session(key.id))
    response = redirect(request, "/")
    set_cookie(response, request, SESSION_COOKIE, sealed, session_seconds(platform))
    return response


@router.post("/logout")
def logout(request: Request, viewer: ViewerDep) -> Response:
    """End the session in this browser."""
    response = redirect(request, "/login", Flash("ok", f"Signed out {viewer.key.name}."))
    clear_cookie(response, request, SESSION_COOKIE)
    return response
