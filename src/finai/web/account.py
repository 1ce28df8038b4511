"""Signing in with an API key and signing out.

The sign-in form is guarded against login CSRF with a double-submit token: showing the
form sets a short-lived random cookie and writes the same value into a hidden field;
signing in requires both to match before the API key is even looked at.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from finai.api.deps import PlatformDep, SessionDep, platform_of, record_use
from finai.exceptions import AuthenticationError
from finai.security import authenticate
from finai.web.auth import MaybeViewer, ViewerDep, session_seconds
from finai.web.render import redirect, render
from finai.web.routing import WebRoute
from finai.web.session import (
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_COOKIE,
    Flash,
    clear_cookie,
    new_session,
    seal_session,
    set_cookie,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

EXPIRED = Flash("error", "Your sign-in form expired; please try again.")
INVALID = Flash("error", "That API key is not valid, or it was revoked or has expired.")


def login_page(request: Request, status_code: int = 200, flash: Flash | None = None) -> Response:
    """Render the sign-in form with a fresh token, set in its hidden field and a cookie.

    Parameters
    ----------
    request
        The request being answered.
    status_code
        HTTP status of the page.
    flash
        A message to show above the form.

    Returns
    -------
    Response
        The sign-in page, carrying the new pre-session cookie.
    """
    token = secrets.token_urlsafe(32)
    context = {"session_hours": platform_of(request).settings.session_hours, "csrf_token": token}
    response = render(
        request, "login.html", context, viewer=None, status_code=status_code, flash=flash
    )
    set_cookie(response, request, LOGIN_COOKIE, token, LOGIN_SECONDS)
    return response


def token_matches(request: Request, sent: str) -> bool:
    """Return True when the form's token equals the pre-session cookie (both non-empty)."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    return bool(sent and expected) and hmac.compare_digest(sent.encode(), expected.encode())


@router.get("/login")
def login_form(request: Request, viewer: MaybeViewer) -> Response:
    """Show the sign-in form (or go home when already signed in)."""
    if viewer is not None:
        return redirect(request, "/")
    return login_page(request)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    api_key: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the form's token, then the API key; start a session holding the key's id."""
    if not token_matches(request, csrf_token):
        return login_page(request, status_code=403, flash=EXPIRED)
    try:
        key = authenticate(session, api_key.strip())
    except AuthenticationError:
        return login_page(request, status_code=401, flash=INVALID)
    record_use(session, key)
    sealed = seal_session(platform.audit_key, new_session(key.id))
    response = redirect(request, "/")
    clear_cookie(response, request, LOGIN_COOKIE)
    set_cookie(response, request, SESSION_COOKIE, sealed, session_seconds(platform))
    return response


@router.post("/logout")
def logout(request: Request, viewer: ViewerDep) -> Response:
    """End the session in this browser."""
    response = redirect(request, "/login", Flash("ok", f"Signed out {viewer.key.name}."))
    clear_cookie(response, request, SESSION_COOKIE)
    return response
