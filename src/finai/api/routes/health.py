"""Liveness, readiness and metrics: no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from finai import __version__
from finai.api.deps import CurrentKey, PlatformDep, authorize_api
from finai.api.schemas import Health, Readiness, WhoAmI
from finai.store import is_current

router = APIRouter(dependencies=[Depends(authorize_api)], tags=["service"])


@router.get("/healthz")
def healthz() -> Health:
    """Answer while the process is up."""
    return Health(status="ok", version=__version__)


@router.get("/readyz", responses={503: {"model": Readiness}})
def readyz(platform: PlatformDep, response: Response) -> Readiness:
    """Answer 200 when the database is reachable and migrated, else 503."""
    try:
        with platform.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = is_current(platform.engine)
    except SQLAlchemyError:
        response.status_code = 503
        return Readiness(status="unavailable", database="unreachable", migrations_current=False)
    if not current:
        response.status_code = 503
    return Readiness(
        status="ok" if current else "unavailable",
        database=platform.engine.dialect.name,
        migrations_current=current,
    )


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    """Prometheus text exposition of request counts and latencies."""
    data = generate_latest(request.app.state.metrics.registry)
    return Response(content=data, media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/whoami")
def whoami(key: CurrentKey) -> WhoAmI:
    """Return the calling key's id, name and role."""
    return WhoAmI(key_id=key.id, name=key.name, role=key.role)
