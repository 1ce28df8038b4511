"""Templates and the responses built from them: pages, redirects with a flash, errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined

from finai.api.deps import platform_of
from finai.web.auth import CSRF_FIELD, Viewer
from finai.web.session import (
    FLASH_COOKIE,
    FLASH_SECONDS,
    Flash,
    clear_cookie,
    open_flash,
    seal_flash,
    set_cookie,
)

PAGES = (
    ("Overview", "/"),
    ("Models", "/models"),
    ("Credit", "/credit"),
    ("Fraud", "/fraud"),
    ("Governance", "/governance"),
    ("Monitoring", "/monitoring"),
    ("Assist", "/assist"),
    ("Audit", "/audit"),
    ("Keys", "/keys"),
)


@dataclass(frozen=True)
class NavItem:
    """One link of the navigation bar."""

    label: str
    href: str
    active: bool


def when(value: datetime | None) -> str:
    """Format a time as ``YYYY-MM-DD HH:MM UTC`` (``-`` for none)."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def number(value: object) -> str:
    """Format a metric value for a table: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("finai.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["number"] = number
    return env


templates = Jinja2Templates(env=_environment())


def navigation(viewer: Viewer | None, path: str) -> list[NavItem]:
    """Return the pages ``viewer`` may open, marking the one at ``path`` active."""
    if viewer is None:
        return []
    return [
        NavItem(label, href, path == href or (href != "/" and path.startswith(href + "/")))
        for label, href in PAGES
        if viewer.may("GET", href)
    ]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    viewer: Viewer | None,
    status_code: int = 200,
    flash: Flash | None = None,
) -> Response:
    """Render a page, showing (and consuming) any flash left by the previous redirect.

    Parameters
    ----------
    request
        The request being answered.
    name
        Template file name, e.g. ``"models.html"``.
    context
        The page's own values.
    viewer
        Who is signed in (None on the sign-in and error pages).
    status_code
        HTTP status of the page.
    flash
        A message of this response, shown after any pending one.

    Returns
    -------
    Response
        The HTML page.
    """
    secret = platform_of(request).audit_key
    pending = open_flash(secret, request.cookies.get(FLASH_COOKIE))
    values: dict[str, Any] = {
        "viewer": viewer,
        "nav": navigation(viewer, request.url.path),
        "messages": [m for m in (pending, flash) if m is not None],
        "csrf_field": CSRF_FIELD,
        "csrf_token": viewer.session.csrf if viewer else "",
        "uses_charts": False,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    if FLASH_COOKIE in request.cookies:
        clear_cookie(response, request, FLASH_COOKIE)
    return response


def redirect(request: Request, url: str, flash: Flash | None = None) -> Response:
    """Answer ``303 See Other`` to ``url``, carrying ``flash`` to the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        secret = platform_of(request).audit_key
        set_cookie(response, request, FLASH_COOKIE, seal_flash(secret, flash), FLASH_SECONDS)
    return response
