"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from finai import __version__, fraud
from finai import credit as credit_domain
from finai.api import errors
from finai.api.middleware import BodyLimitMiddleware, Metrics, ObservabilityMiddleware
from finai.api.routes import audit, credit, health, keys, models
from finai.api.routes import fraud as fraud_routes
from finai.context import Platform
from finai.web import views


def create_app(platform: Platform | None = None) -> FastAPI:
    """Build the service: API under ``/v1``, health and metrics, and the dashboard.

    Parameters
    ----------
    platform
        The platform to serve; built from ``FINAI_*`` settings when omitted.
    """
    platform = platform or Platform.from_env()

    writer = fraud.ScoreWriter(
        platform.sessions,
        platform.audit_key,
        delay=timedelta(milliseconds=platform.settings.fraud_write_delay_ms),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        writer.close()
        platform.close()

    app = FastAPI(
        title="FinAI",
        version=__version__,
        summary="Self-hosted AI decisions for lenders: models, keys, audit.",
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.metrics = Metrics()
    app.state.fraud_writer = writer
    app.state.credit_decider = credit_domain.Decider(platform.artifact_dir)
    app.state.fraud_scorers = fraud.Scorers(
        fraud.state_store(platform.settings.redis_url, prefix=platform.settings.redis_prefix),
        platform.artifact_dir,
    )
    errors.install(app)
    for router in (models.router, keys.router, audit.router, credit.router, fraud_routes.router):
        app.include_router(router, responses=errors.problem_responses(401, 403, 404, 409, 413, 422))
    app.include_router(health.router, responses=errors.problem_responses(401, 403))
    app.include_router(views.router)
    app.add_middleware(BodyLimitMiddleware, limit=platform.settings.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    return app
