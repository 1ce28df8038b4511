"""The model registry pages: models, their versions and metrics, promote and roll back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response

from finai import registry
from finai.api.deps import PlatformDep, SessionDep
from finai.exceptions import FinAIError
from finai.registry import ModelVersion, Stage
from finai.web import charts
from finai.web.auth import ViewerDep
from finai.web.render import redirect, render
from finai.web.routing import WebRoute
from finai.web.session import Flash

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
LIST_VERSIONS = 5
PROMOTE = ("POST", "/models/{name}/versions/{version}/promote")
ROLLBACK = ("POST", "/models/{name}/rollback")


@dataclass(frozen=True)
class ModelCard:
    """A model as a page shows it: its newest versions (or all) and its champion."""

    name: str
    versions: list[ModelVersion]
    total: int
    champion: int | None

    @classmethod
    def of(cls, versions: list[ModelVersion], limit: int | None = None) -> ModelCard:
        """Build the card of one model from its versions, newest first."""
        champion = next((v.version for v in versions if v.stage == Stage.CHAMPION), None)
        return cls(versions[0].name, versions[:limit], len(versions), champion)


def model_url(name: str) -> str:
    """Return the address of a model's page."""
    return f"/models/{quote(name, safe='')}"


@router.get("/models")
def models(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """List every model with its newest versions, their stages, hashes and metrics."""
    cards = [
        ModelCard.of(registry.list_versions(session, m.name), LIST_VERSIONS)
        for m in registry.list_models(session)
    ]
    context = {
        "cards": cards,
        "can_promote": viewer.may(*PROMOTE),
        "can_rollback": viewer.may(*ROLLBACK),
    }
    return render(request, "models.html", context, viewer=viewer)


@router.get("/models/{name}")
def model(
    request: Request,
    name: str,
    session: SessionDep,
    viewer: ViewerDep,
    metric: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Show all of a model's versions, a chart of one metric across them, and stage actions."""
    versions = registry.list_versions(session, name)
    metrics = charts.numeric_metrics(versions)
    chosen = metric if metric in metrics else (metrics[0] if metrics else None)
    figure = charts.metric_chart(versions, chosen) if chosen else None
    context = {
        "card": ModelCard.of(versions),
        "metrics": metrics,
        "metric": chosen,
        "figure": figure,
        "uses_charts": figure is not None,
        "can_promote": viewer.may(*PROMOTE),
        "can_rollback": viewer.may(*ROLLBACK),
    }
    return render(request, "model.html", context, viewer=viewer)


@router.post("/models/{name}/versions/{version}/promote")
def promote(
    request: Request,
    name: str,
    version: Version,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
) -> Response:
    """Make a version the champion; the old champion is retired."""
    try:
        registry.promote(
            session, platform.audit_key, name=name, version=version, actor=viewer.key.id
        )
        session.commit()
    except FinAIError as exc:
        return redirect(request, model_url(name), Flash("error", str(exc)))
    done = Flash("ok", f"{name} v{version} is now the champion.")
    return redirect(request, model_url(name), done)


@router.post("/models/{name}/rollback")
def rollback(
    request: Request, name: str, session: SessionDep, platform: PlatformDep, viewer: ViewerDep
) -> Response:
    """Retire the champion and reinstate the one before it."""
    try:
        restored = registry.rollback(session, platform.audit_key, name=name, actor=viewer.key.id)
        session.commit()
    except FinAIError as exc:
        return redirect(request, model_url(name), Flash("error", str(exc)))
    done = Flash("ok", f"Rolled back: {name} v{restored.version} is the champion again.")
    return redirect(request, model_url(name), done)
