"""The dashboard's route class: errors become pages, every response gets safe headers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from finai.api.errors import status_for
from finai.exceptions import AuthenticationError, FinAIError, PermissionDenied
from finai.web.auth import Viewer
from finai.web.render import redirect, render
from finai.web.session import SESSION_COOKIE, clear_cookie

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# Plotly's embedded figures are inline scripts and it injects inline styles; nothing
# may load from anywhere but this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self';"
    " base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def error_page(request: Request, exc: FinAIError | RequestValidationError) -> Response:
    """Render a FinAI error (or invalid input) as an HTML page with its HTTP status.

    Parameters
    ----------
    request
        The request that failed.
    exc
        What went wrong; a FinAI error's message is safe to show.

    Returns
    -------
    Response
        The error page; a missing or ended session redirects to the sign-in page.
    """
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if isinstance(exc, AuthenticationError):
        response = redirect(request, "/login")
        clear_cookie(response, request, SESSION_COOKIE)
        return response
    if isinstance(exc, RequestValidationError):
        status, title, detail = 422, "Invalid input", "the address or form holds an invalid value"
    else:
        status, title, detail = status_for(exc), exc.title, str(exc)
        if status >= 500:
            logger.error("dashboard error", extra={"error": type(exc).__name__})
    context = {
        "title": title,
        "detail": detail,
        "status": status,
        "forbidden": isinstance(exc, PermissionDenied),
    }
    return render(request, "error.html", context, viewer=viewer, status_code=status)


class WebRoute(APIRoute):
    """An ``APIRoute`` whose FinAI errors and invalid input answer as HTML pages."""

    def get_route_handler(self) -> Handler:
        """Wrap FastAPI's handler: translate errors, add security headers."""
        handler = super().get_route_handler()

        async def web_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except (FinAIError, RequestValidationError) as exc:
                response = error_page(request, exc)
            for name, value in HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return web_handler
