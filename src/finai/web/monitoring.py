"""The monitoring page: how a credit model performs now against its training.

For the chosen credit model (the version in force: champion, else newest) the page
shows its vintage report (:func:`finai.governance.vintage_report`): realised against
expected default rate by month of decision, AUC and KS by month against their training
values, and the alerts; and the PSI of its score and most shifted feature at each stored
drift check of that version, against the watch and act bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from finai import governance, registry
from finai.api.deps import SessionDep
from finai.registry import ModelVersion
from finai.web import charts
from finai.web.auth import ViewerDep
from finai.web.credit import ModelChoice, ModelRef, credit_models, default_ref
from finai.web.render import render
from finai.web.routing import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@dataclass(frozen=True)
class Figure:
    """One number on the page, with what it means."""

    label: str
    value: str
    hint: str
    key: str


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _metric(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def figures(report: governance.VintageReport) -> list[Figure]:
    """Return the page's headline numbers over every vintage."""
    overall, trained = report.overall, report.training
    return [
        Figure("Decisions", f"{overall.decisions:,}", "decisions of this version", "decisions"),
        Figure(
            "Outcomes",
            f"{overall.outcomes:,}",
            f"decisions with a reported outcome ({_share(overall.coverage)})",
            "outcomes",
        ),
        Figure(
            "Realised / expected",
            f"{_share(overall.default_rate)} / {_share(overall.expected_rate)}",
            "default rate of the outcomes against their mean PD",
            "rates",
        ),
        Figure(
            "AUC now / trained",
            f"{_metric(overall.auc)} / {_metric(trained.auc)}",
            "AUC of the PD on the outcomes against the cross-validated AUC",
            "auc",
        ),
        Figure("Alerts", str(len(report.alerts)), "vintages that no longer perform", "alerts"),
    ]


def _choice_label(version: ModelVersion) -> str:
    return f"{version.name} v{version.version} ({version.stage.value})"


def _charts(
    report: governance.VintageReport, history: governance.DriftHistory
) -> tuple[list[Markup], Markup | None]:
    reported = [v for v in report.vintages if v.outcomes]
    outcome_figures = []
    if reported:
        outcome_figures.append(charts.default_rate_chart(reported, report.confidence))
        if any(v.auc is not None for v in reported):
            outcome_figures.append(
                charts.discrimination_chart(reported, report.training.auc, report.training.ks)
            )
    drift_figure = charts.psi_chart(history) if history.points else None
    return outcome_figures, drift_figure


@router.get("/monitoring")
def monitoring_page(
    request: Request, session: SessionDep, viewer: ViewerDep, model: ModelRef = None
) -> Response:
    """Show a credit model's outcomes by vintage, its drift checks and its alerts.

    ``model`` is ``NAME[:VERSION]``; without it, the demo model, else the first credit
    model.
    """
    models = credit_models(session)
    ref = model or default_ref(models)
    context: dict[str, Any] = {"choices": [], "report": None, "history": None}
    if ref is not None:
        name, version = registry.parse_ref(ref)
        report = governance.vintage_report(session, name, version)
        history = governance.drift_history(session, report.model, version=report.version)
        outcome_figures, drift_figure = _charts(report, history)
        context.update(
            choices=[ModelChoice(m.name, _choice_label(m), m.name == report.model) for m in models],
            report=report,
            history=history,
            figures=figures(report),
            outcome_figures=outcome_figures,
            drift_figure=drift_figure,
            uses_charts=bool(outcome_figures) or drift_figure is not None,
        )
    return render(request, "monitoring.html", context, viewer=viewer)
