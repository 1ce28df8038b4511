"""The overview page: counts and activity at a glance."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response

from finai import registry, security
from finai.api.deps import SessionDep
from finai.security import audit
from finai.web import charts
from finai.web.auth import ViewerDep
from finai.web.render import render
from finai.web.routing import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)

ACTIVITY_WINDOW = 500


@dataclass(frozen=True)
class Stat:
    """One figure on the overview, linking to the page that explains it."""

    label: str
    value: int
    href: str


@router.get("/")
def overview(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """Show counts of models, champions, keys and audit entries, and activity charts."""
    models = registry.list_models(session)
    stats = [
        Stat("Models", len(models), "/models"),
        Stat("Champions", sum(m.champion is not None for m in models), "/models"),
        Stat("Versions", sum(m.versions for m in models), "/models"),
    ]
    figures = [charts.versions_chart(models)] if models else []
    if viewer.may("GET", "/keys"):
        active = sum(k.active for k in security.list_keys(session))
        stats.append(Stat("Active keys", active, "/keys"))
    if viewer.may("GET", "/audit"):
        recent = audit.entries(session, limit=ACTIVITY_WINDOW)
        stats.append(Stat("Audit entries", audit.count(session), "/audit"))
        if recent:
            figures.append(charts.actions_chart(recent))
    context = {"stats": stats, "figures": figures, "uses_charts": bool(figures)}
    return render(request, "overview.html", context, viewer=viewer)
