"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from finai import __version__, fraud, governance
from finai import credit as credit_domain
from finai.api import errors
from finai.api.middleware import BodyLimitMiddleware, Metrics, ObservabilityMiddleware
from finai.api.routes import assist as assist_routes
from finai.api.routes import audit, credit, health, keys, models
from finai.api.routes import challenger as challenger_routes
from finai.api.routes import drift as drift_routes
from finai.api.routes import fraud as fraud_routes
from finai.api.routes import governance as governance_routes
from finai.api.routes import outcomes as outcome_routes
from finai.assist.pipeline import Assistants
from finai.context import Platform
from finai.security import ratelimit
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

    drift_schedule = governance.DriftSchedule(
        platform.sessions,
        platform.audit_key,
        platform.artifact_dir,
        every=timedelta(hours=platform.settings.drift_check_hours),
        days=platform.settings.drift_window_days,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        drift_schedule.start()
        yield
        drift_schedule.close()
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
    app.state.rate_limiter = ratelimit.make_limiter(
        platform.settings.redis_url, platform.settings.rate_limit, platform.settings.rate_burst
    )
    app.state.drift_schedule = drift_schedule
    app.state.credit_decider = credit_domain.Decider(
        platform.artifact_dir,
        on_shadow_failure=challenger_routes.shadow_failure_counter(app.state.metrics),
    )
    app.state.fraud_scorers = fraud.Scorers(
        fraud.state_store(platform.settings.redis_url, prefix=platform.settings.redis_prefix),
        platform.artifact_dir,
    )
    app.state.assistants = Assistants.from_settings(platform.settings)
    errors.install(app)
    for router in (models.router, keys.router, audit.router, credit.router, fraud_routes.router):
        app.include_router(router, responses=errors.problem_responses(401, 403, 404, 409, 413, 422))
    app.include_router(
        drift_routes.router, responses=errors.problem_responses(401, 403, 404, 409, 413, 422)
    )
    app.include_router(
        outcome_routes.router, responses=errors.problem_responses(401, 403, 404, 409, 413, 422)
    )
    app.include_router(
        governance_routes.router, responses=errors.problem_responses(401, 403, 404, 413, 422)
    )
    app.include_router(
        challenger_routes.router, responses=errors.problem_responses(401, 403, 404, 413, 422)
    )
    app.include_router(
        assist_routes.router, responses=errors.problem_responses(401, 403, 404, 409, 413, 422)
    )
    app.include_router(health.router, responses=errors.problem_responses(401, 403))
    app.include_router(views.router)
    app.add_middleware(BodyLimitMiddleware, limit=platform.settings.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    return app
