"""Errors as RFC 9457 ``application/problem+json``; the most specific class wins."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from finai.api.schemas import Problem
from finai.exceptions import (
    AuthenticationError,
    ConfigurationError,
    Conflict,
    FinAIError,
    IntegrityError,
    NotFound,
    PermissionDenied,
    RateLimited,
    UpstreamError,
    ValidationError,
)

logger = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
DATABASE_RETRY_SECONDS = 2

STATUS: dict[type[FinAIError], int] = {
    ValidationError: 422,
    NotFound: 404,
    Conflict: 409,
    AuthenticationError: 401,
    PermissionDenied: 403,
    RateLimited: 429,
    IntegrityError: 409,
    UpstreamError: 502,
    ConfigurationError: 500,
    FinAIError: 500,
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Document problem+json answers for ``statuses`` in OpenAPI."""
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM: {}},
            "description": HTTPStatus(status).phrase,
        }
        for status in statuses
    }


def problem_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Wrap ``app.openapi`` so documented errors are ``application/problem+json`` only."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operation in (op for path in schema["paths"].values() for op in path.values()):
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM in content and "application/json" in content:
                    content[PROBLEM] = content.pop("application/json")
        return schema

    return openapi


def status_for(exc: FinAIError) -> int:
    """Return the HTTP status of the most specific mapped class of ``exc``."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def _finai_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FinAIError)
    status = status_for(exc)
    errors = [{"field": exc.field, "message": str(exc)}] if exc.field else None
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(math.ceil(exc.retry_after))}
    if status >= 500:
        logger.error("internal error", extra={"error": type(exc).__name__})
    return problem(request, status, exc.title, str(exc), errors=errors, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "body")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _location(err.get("loc", ())), "message": err.get("msg", "invalid")}
        for err in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(request, 422, "Invalid input", detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}.get(
        exc.status_code, "HTTP error"
    )
    headers = dict(exc.headers) if exc.headers else None
    return problem(request, exc.status_code, title, str(exc.detail), headers=headers)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # the connection pool re-checks connections (pre-ping), so once the database is
    # back the next request succeeds: no restart needed
    logger.error("database unavailable", extra={"error": type(exc).__name__})
    return problem(
        request,
        503,
        "Service unavailable",
        "the database is unavailable; retry shortly",
        headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", extra={"error": type(exc).__name__})
    return problem(request, 500, "Internal error", "an unexpected error occurred")


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(FinAIError, _finai_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
    app.openapi = problem_openapi(app)  # type: ignore[method-assign]
