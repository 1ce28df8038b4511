"""Who is looking: the session cookie's key, checked against the one permission table."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from finai.api.deps import PlatformDep, SessionDep, check_role, record_use, route_roles
from finai.api.permissions import PUBLIC, allowed
from finai.context import Platform
from finai.exceptions import AuthenticationError, NotFound, PermissionDenied
from finai.security import ApiKey, get_key
from finai.web.session import SESSION_COOKIE, WebSession, open_session

CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: their (active) API key and their dashboard session."""

    key: ApiKey
    session: WebSession

    def may(self, method: str, path: str) -> bool:
        """Return True when the permission table lets this key call ``method path``.

        Parameters
        ----------
        method
            HTTP method, e.g. ``"POST"``.
        path
            The route template, e.g. ``"/models/{name}/rollback"``.
        """
        roles = allowed(method, path)
        return roles is not None and (roles is PUBLIC or self.key.role.value in roles)


def session_seconds(platform: Platform) -> int:
    """Return how long a dashboard session lasts, in seconds."""
    return max(1, int(platform.settings.session_hours * 3600))


def current_viewer(request: Request, session: SessionDep, platform: PlatformDep) -> Viewer | None:
    """Return the viewer of a valid session cookie whose key is still active, else None."""
    sealed = open_session(
        platform.audit_key, request.cookies.get(SESSION_COOKIE), session_seconds(platform)
    )
    if sealed is None:
        return None
    try:
        key = get_key(session, sealed.key_id)
    except NotFound:
        return None
    if not key.active:
        return None
    record_use(session, key)
    viewer = Viewer(key=key, session=sealed)
    request.state.viewer = viewer
    return viewer


async def check_csrf(request: Request, viewer: Viewer) -> None:
    """Refuse a form whose CSRF token does not match the session's.

    Raises
    ------
    PermissionDenied
        When the token is missing or wrong.
    """
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(
        sent.encode(), viewer.session.csrf.encode()
    ):
        raise PermissionDenied("the form's security token is missing or stale; reload and retry")


async def authorize_web(
    request: Request, viewer: Annotated[Viewer | None, Depends(current_viewer)]
) -> Viewer | None:
    """Do for the session cookie what ``authorize_api`` does for the API key.

    Public routes pass with whoever is signed in (or nobody). Others need a session
    (else ``AuthenticationError``, shown as a redirect to the sign-in page), a role
    the permission table allows and, on POST, the session's CSRF token (else
    ``PermissionDenied``, shown as a 403 page).

    Parameters
    ----------
    request
        The request being authorized.
    viewer
        The signed-in viewer, if any.

    Returns
    -------
    Viewer or None
        The viewer; None only on public routes.
    """
    roles = route_roles(request)
    if roles is PUBLIC:
        return viewer
    if viewer is None:
        raise AuthenticationError("sign in to continue")
    check_role(viewer.key, roles)
    if request.method not in SAFE_METHODS:
        await check_csrf(request, viewer)
    request.state.key_id = viewer.key.id
    return viewer


def signed_in(viewer: Annotated[Viewer | None, Depends(authorize_web)]) -> Viewer:
    """Return the viewer of a protected page."""
    if viewer is None:
        raise AuthenticationError("sign in to continue")
    return viewer


ViewerDep = Annotated[Viewer, Depends(signed_in)]
MaybeViewer = Annotated[Viewer | None, Depends(authorize_web)]
