"""Dependencies that routes declare: the platform, a session, the calling key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from finai.api.permissions import PUBLIC, allowed
from finai.context import Platform
from finai.exceptions import AuthenticationError, PermissionDenied
from finai.security import ApiKey, authenticate, ratelimit, touch
from finai.store import utcnow

TOUCH_EVERY = timedelta(minutes=1)


def platform_of(request: Request) -> Platform:
    """Return the platform the app was built with."""
    platform: Platform = request.app.state.platform
    return platform


async def get_platform(request: Request) -> Platform:
    """Depend on the platform (async: it does no I/O, so it skips the thread pool)."""
    return platform_of(request)


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_session(platform: PlatformDep) -> Iterator[Session]:
    """Yield a session for one request; uncommitted work is rolled back at the end."""
    with platform.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def route_roles(request: Request) -> frozenset[str]:
    """Return who may call the matched route; a route missing from the table is refused."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    roles = allowed(request.method, path) if path else None
    if roles is None:
        raise PermissionDenied("this route has no permission entry")
    return roles


def check_role(key: ApiKey, roles: frozenset[str]) -> None:
    """Refuse a key whose role is not among ``roles``."""
    if key.role.value not in roles:
        raise PermissionDenied(f"role {key.role.value!r} may not do this")


def bearer_token(request: Request) -> str | None:
    """Return the API key from ``Authorization: Bearer`` or ``X-API-Key``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return request.headers.get("x-api-key")


def record_use(session: Session, key: ApiKey) -> None:
    """Update a key's last use, at most once a minute to keep reads cheap."""
    if key.last_used_at is None or utcnow() - key.last_used_at > TOUCH_EVERY:
        touch(session, key.id)
        session.commit()


def authorize_api(request: Request, session: SessionDep) -> ApiKey | None:
    """Authenticate the API key (401) and check the route's roles (403)."""
    roles = route_roles(request)
    if roles is PUBLIC:
        return None
    key = authenticate(session, bearer_token(request))
    check_role(key, roles)
    ratelimit.check(request.app.state.rate_limiter, key.id)
    record_use(session, key)
    request.state.key_id = key.id
    return key


async def current_key(key: Annotated[ApiKey | None, Depends(authorize_api)]) -> ApiKey:
    """Return the authenticated key of a non-public API route."""
    if key is None:
        raise AuthenticationError("missing or invalid API key")
    return key


CurrentKey = Annotated[ApiKey, Depends(current_key)]
