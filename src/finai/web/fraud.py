"""The fraud pages: live scores, alerts against the budget, precision, the queue, one score.

The fraud page shows the champion fraud model's thresholds, the distribution of the
newest stored scores with those thresholds marked, alerts opened per day against the
model's daily alert budget, the precision of resolved alerts (fraud over resolved),
and the alert queue. Admins and analysts assign alerts to themselves and resolve them
as fraud or legitimate from the queue; a resolution is audited and becomes a label,
in the database and in the online state. A transaction's page explains its stored
score: the transaction, the model version, the action and what raised the score.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Path, Query, Request, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from finai import fraud, registry
from finai.api.deps import PlatformDep, SessionDep
from finai.api.schemas import RECORD_ID
from finai.exceptions import FinAIError, NotFound
from finai.fraud import records
from finai.fraud.records import Alert, DayStats, StoredScore
from finai.registry import Stage
from finai.store import utcnow
from finai.web import charts
from finai.web.auth import ViewerDep
from finai.web.credit import FormDep
from finai.web.render import redirect, render
from finai.web.routing import WebRoute
from finai.web.session import Flash

router = APIRouter(route_class=WebRoute, include_in_schema=False)

AlertId = Annotated[str, Path(pattern=RECORD_ID)]
AlertRef = Annotated[str | None, Query(pattern=RECORD_ID)]
TransactionId = Annotated[str, Path(min_length=1, max_length=128)]
QueueView = Literal["active", "open", "assigned", "resolved", "all"]

PAGE = ("GET", "/fraud")
ASSIGN = ("POST", "/fraud/alerts/{alert_id}/assign")
RESOLVE = ("POST", "/fraud/alerts/{alert_id}/resolve")
SCORE_HOURS = 24
SCORE_LIMIT = 1000
STATS_DAYS = 30
QUEUE_LIMIT = 100
BINS = 40
MAX_NOTE = 2000
ACTIONS = ("allow", "review", "block")
VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "active": ("Open & assigned", ("open", "assigned")),
    "open": ("Open", ("open",)),
    "assigned": ("Assigned", ("assigned",)),
    "resolved": ("Resolved", ("resolved",)),
    "all": ("All", ("open", "assigned", "resolved")),
}
EMPTY = {
    "active": "No open or assigned alerts.",
    "open": "No open alerts.",
    "assigned": "No assigned alerts.",
    "resolved": "No resolved alerts.",
    "all": "No alerts yet.",
}
UNITS = {
    "lightgbm": "log-odds added",
    "logistic": "log-odds added",
    "isolation_forest": "IQRs from the training median",
}


@dataclass(frozen=True)
class ModelInForce:
    """The fraud model that scores now: its version and its thresholds."""

    name: str
    version: int
    stage: Stage
    algorithm: str
    created_at: datetime
    thresholds: fraud.Thresholds

    @property
    def budget(self) -> float | None:
        """Alerts a day the thresholds were chosen for; None for cost-based thresholds."""
        return self.thresholds.alerts_per_day


@dataclass(frozen=True)
class Figure:
    """One number on the page, with what it means."""

    label: str
    value: str
    hint: str
    key: str


@dataclass(frozen=True)
class Tab:
    """One filter of the queue."""

    key: str
    label: str
    active: bool


@dataclass(frozen=True)
class Queue:
    """The alerts listed, unresolved first, and whether more exist than are shown."""

    view: str
    alerts: list[Alert]
    truncated: bool
    tabs: list[Tab]

    @property
    def shows_resolutions(self) -> bool:
        """Whether the view lists resolved alerts (and so a resolution column)."""
        return "resolved" in VIEWS[self.view][1]

    @property
    def empty_text(self) -> str:
        """What an empty list of this view says."""
        return EMPTY[self.view]


@dataclass(frozen=True)
class Histogram:
    """Stored scores per bin of [0, 1], by the action taken."""

    edges: list[float]
    counts: dict[str, list[int]]


def transaction_url(transaction_id: str, alert_id: str | None = None) -> str:
    """Return the address of a transaction's page (with its alert, when known)."""
    url = f"/fraud/transactions/{quote(transaction_id, safe='')}"
    return f"{url}?alert={alert_id}" if alert_id else url


def queue_url(view: str) -> str:
    """Return the address of the queue filtered by ``view`` (the default one unfiltered)."""
    return "/fraud#queue" if view == "active" else f"/fraud?status={view}#queue"


def model_in_force(request: Request, session: Session, name: str) -> ModelInForce:
    """Return the champion (else newest) version of the fraud model ``name``.

    Raises
    ------
    NotFound
        When no model of that name is registered.
    ValidationError
        When ``name`` is not a fraud model.
    """
    scorers: fraud.Scorers = request.app.state.fraud_scorers
    scorer = scorers.get(session, name)
    info = registry.get_version(session, scorer.model_name, scorer.model_version)
    return ModelInForce(
        name=scorer.model_name,
        version=scorer.model_version,
        stage=info.stage,
        algorithm=scorer.model.algorithm,
        created_at=info.created_at,
        thresholds=scorer.model.thresholds,
    )


def histogram(scores: Sequence[StoredScore], bins: int = BINS) -> Histogram:
    """Count stored scores per bin of [0, 1], by the action stored with each.

    Parameters
    ----------
    scores
        Stored scores; the action is the one taken when scored (by that model
        version's thresholds), so it stays true after the thresholds change.
    bins
        Equal-width bins over [0, 1].
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts: dict[str, list[int]] = {}
    for action in ACTIONS:
        values = [s.score for s in scores if s.action.value == action and math.isfinite(s.score)]
        found, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=edges)
        counts[action] = [int(n) for n in found]
    return Histogram([float(e) for e in edges], counts)


def precision(days: Sequence[DayStats]) -> float | None:
    """Return fraud over resolved across ``days`` (None when none was resolved)."""
    resolved = sum(d.resolved for d in days)
    return sum(d.fraud for d in days) / resolved if resolved else None


def queue(session: Session, view: str) -> Queue:
    """List the alerts of a queue view: open, then assigned, then resolved; newest first."""
    alerts: list[Alert] = []
    truncated = False
    for status in VIEWS[view][1]:
        found = records.list_alerts(session, status=status, limit=QUEUE_LIMIT + 1)
        truncated = truncated or len(found) > QUEUE_LIMIT
        alerts += found
    truncated = truncated or len(alerts) > QUEUE_LIMIT
    tabs = [Tab(key, label, key == view) for key, (label, _) in VIEWS.items()]
    return Queue(view, alerts[:QUEUE_LIMIT], truncated, tabs)


def _count(session: Session, status: str) -> str:
    return f"{records.count_alerts(session, status=status):,}"


def _figures(
    session: Session, scores: list[StoredScore], days: list[DayStats], model: ModelInForce | None
) -> list[Figure]:
    today = days[-1]
    budget = model.budget if model else None
    rate = precision(days)
    resolved = sum(d.resolved for d in days)
    shown = f"{len(scores):,}" + ("+" if len(scores) >= SCORE_LIMIT else "")
    return [
        Figure(f"Scores, last {SCORE_HOURS} h", shown, "transactions scored", "scores"),
        Figure(
            "Alerts today",
            str(today.alerts) if budget is None else f"{today.alerts} / {budget:g}",
            "alerts opened today (UTC)" + ("" if budget is None else ", of the daily budget"),
            "today",
        ),
        Figure("Open", _count(session, "open"), "alerts nobody has taken yet", "open"),
        Figure("Assigned", _count(session, "assigned"), "alerts being worked on", "assigned"),
        Figure(
            f"Precision, {STATS_DAYS} days",
            "-" if rate is None else f"{rate:.1%}",
            f"{sum(d.fraud for d in days)} fraud of {resolved} resolved alerts",
            "precision",
        ),
    ]


def _charts(
    scores: list[StoredScore], days: list[DayStats], model: ModelInForce | None
) -> tuple[Markup | None, list[Markup]]:
    score_figure = None
    if scores:
        counted = histogram(scores)
        newest = "" if len(scores) < SCORE_LIMIT else f", the newest {SCORE_LIMIT:,}"
        score_figure = charts.fraud_score_chart(
            counted.edges,
            counted.counts,
            review=model.thresholds.review if model else None,
            block=model.thresholds.block if model else None,
            title=f"Scores · last {SCORE_HOURS} h ({len(scores):,}{newest})",
        )
    figures = []
    if any(d.alerts for d in days):
        figures.append(charts.alerts_chart(days, model.budget if model else None))
    if any(d.resolved for d in days):
        figures.append(charts.precision_chart(days, precision(days)))
    return score_figure, figures


@router.get("/fraud")
def fraud_page(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    status: QueueView = "active",
) -> Response:
    """Show the model's thresholds, recent scores, alerts against the budget and the queue.

    ``status`` filters the queue: ``active`` (open and assigned, the default),
    ``open``, ``assigned``, ``resolved`` or ``all``.
    """
    name = platform.settings.fraud_model
    model, model_note = None, None
    try:
        model = model_in_force(request, session, name)
    except NotFound:
        model_note = (
            f"No fraud model named {name!r} is registered, so nothing is scored yet: train"
            " one with `finai fraud train`, or load the demo with `finai init`."
        )
    except FinAIError as exc:
        model_note = f"The fraud model {name!r} cannot be loaded: {exc}"
    since = utcnow() - timedelta(hours=SCORE_HOURS)
    scores = records.recent_scores(session, since=since, limit=SCORE_LIMIT)
    days = records.alert_stats(session, days=STATS_DAYS)
    score_figure, figures = _charts(scores, days, model)
    context: dict[str, Any] = {
        "model": model,
        "model_name": name,
        "model_note": model_note,
        "figures": _figures(session, scores, days, model),
        "score_figure": score_figure,
        "charts": figures,
        "days": STATS_DAYS,
        "hours": SCORE_HOURS,
        "queue": queue(session, status),
        "queue_limit": QUEUE_LIMIT,
        "can_assign": viewer.may(*ASSIGN),
        "can_resolve": viewer.may(*RESOLVE),
        "uses_charts": score_figure is not None or bool(figures),
    }
    return render(request, "fraud.html", context, viewer=viewer)


def _back(session: Session, form: dict[str, str], alert_id: str) -> str:
    """Where to go after acting on an alert: its transaction's page, or the queue view."""
    if form.get("back") == "transaction":
        with contextlib.suppress(NotFound):
            return transaction_url(records.get_alert(session, alert_id).transaction_id, alert_id)
    view = form.get("status", "active")
    return queue_url(view if view in VIEWS else "active")


@router.post("/fraud/alerts/{alert_id}/assign")
def assign(
    request: Request,
    alert_id: AlertId,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    form: FormDep,
) -> Response:
    """Assign an alert to the signed-in analyst (audited)."""
    try:
        alert = records.assign_alert(
            session, platform.audit_key, alert_id, assignee=viewer.key.name, actor=viewer.key.id
        )
        session.commit()
    except FinAIError as exc:
        session.rollback()
        return redirect(request, _back(session, form, alert_id), Flash("error", str(exc)))
    done = Flash("ok", f"Alert on {alert.transaction_id} assigned to {alert.assignee}.")
    return redirect(request, _back(session, form, alert_id), done)


@router.post("/fraud/alerts/{alert_id}/resolve")
def resolve(
    request: Request,
    alert_id: AlertId,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    form: FormDep,
) -> Response:
    """Resolve an alert as fraud or legitimate (audited); the verdict becomes a label.

    The label is stored with the resolution; the online state gets it after the
    commit, and misses it (without failing the resolution) when its store is down.
    """
    resolution = form.get("resolution", "")
    try:
        alert = records.resolve_alert(
            session,
            platform.audit_key,
            alert_id,
            resolution=resolution,
            actor=viewer.key.id,
            note=form.get("note", ""),
        )
        session.commit()
    except FinAIError as exc:
        session.rollback()
        return redirect(request, _back(session, form, alert_id), Flash("error", str(exc)))
    scorers: fraud.Scorers = request.app.state.fraud_scorers
    scorers.label([(alert.transaction_id, resolution == "fraud")])
    done = Flash("ok", f"Alert on {alert.transaction_id} resolved as {resolution}.")
    return redirect(request, _back(session, form, alert_id), done)


def _unit(session: Session, score: StoredScore) -> str:
    try:
        version = registry.get_version(session, score.model_name, score.model_version)
    except NotFound:
        return "contribution"
    return UNITS.get(str(version.params.get("algorithm")), "contribution")


@router.get("/fraud/transactions/{transaction_id}")
def transaction_page(
    request: Request,
    transaction_id: TransactionId,
    session: SessionDep,
    viewer: ViewerDep,
    alert: AlertRef = None,
) -> Response:
    """Show a stored score: the transaction, model version, action and what raised it.

    The transaction's alert, if any (``alert`` names it, as the queue links it), is
    shown too, with its assign and resolve forms for admins and analysts.
    """
    score = records.get_score(session, transaction_id)
    found = None
    if alert is None and viewer.may(*PAGE):
        found = records.alert_for(session, transaction_id)
    elif alert is not None and viewer.may(*PAGE):
        found = records.get_alert(session, alert)
        if found.transaction_id != score.transaction_id:
            raise NotFound(
                f"alert {alert!r} is not about transaction {transaction_id!r}", field="alert"
            )
    unit = _unit(session, score)
    shown = [r for r in score.reasons if math.isfinite(r.contribution)]
    figure = charts.contributions_chart(score.reasons, unit) if shown else None
    context = {
        "score": score,
        "alert": found,
        "unit": unit,
        "figure": figure,
        "can_queue": viewer.may(*PAGE),
        "can_assign": viewer.may(*ASSIGN),
        "can_resolve": viewer.may(*RESOLVE),
        "uses_charts": figure is not None,
    }
    return render(request, "fraud_transaction.html", context, viewer=viewer)
