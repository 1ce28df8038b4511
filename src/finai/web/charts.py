"""Plotly figures for the dashboard, embedded as HTML fragments (plotly.js is served locally)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import plotly.graph_objects as go
from markupsafe import Markup

from finai.registry import ModelSummary, ModelVersion, Stage
from finai.security import AuditEntry

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
ACCENT = "#2563eb"
STAGE_COLOURS = {Stage.CANDIDATE: "#94a3b8", Stage.CHAMPION: "#16a34a", Stage.RETIRED: "#cbd5e1"}


def numeric_metrics(versions: Iterable[ModelVersion]) -> list[str]:
    """Return the names of metrics that hold a number in at least one version, sorted."""
    names = {
        name
        for v in versions
        for name, value in v.metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    return sorted(names)


def _embed(fig: go.Figure, *, title: str, y_title: str, counts: bool = False) -> Markup:
    fig.update_layout(
        template="none",
        title={"text": title, "x": 0, "font": {"size": 15, "color": INK}},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "color": INK},
        height=320,
        margin={"l": 56, "r": 16, "t": 48, "b": 56},
        paper_bgcolor="white",
        plot_bgcolor="white",
        bargap=0.35,
        showlegend=len(fig.data) > 1,
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_xaxes(type="category", linecolor=GRID, tickfont={"color": MUTED})
    fig.update_yaxes(
        title={"text": y_title, "font": {"color": MUTED}}, gridcolor=GRID, zeroline=False
    )
    if counts:  # whole numbers only, about five ticks
        highest = max((max(trace.y, default=0) for trace in fig.data), default=0)
        fig.update_yaxes(tickformat="d", dtick=max(1, math.ceil(highest / 5)), rangemode="tozero")
    html = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        config={"displaylogo": False, "responsive": True, "displayModeBar": False},
        default_height="320px",
    )
    return Markup(html)  # noqa: S704 - plotly JSON-escapes every value it embeds


def actions_chart(entries: Sequence[AuditEntry]) -> Markup:
    """Bar chart of how many of ``entries`` each action has.

    Parameters
    ----------
    entries
        Audit entries, e.g. the newest few hundred.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    counts = Counter(e.action for e in entries)
    actions = sorted(counts)
    fig = go.Figure(go.Bar(x=actions, y=[counts[a] for a in actions], marker_color=ACCENT))
    title = f"Audit activity (last {len(entries)} entries)"
    return _embed(fig, title=title, y_title="entries", counts=True)


def versions_chart(models: Sequence[ModelSummary]) -> Markup:
    """Bar chart of how many versions each model has.

    Parameters
    ----------
    models
        One summary per model name.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    fig = go.Figure(
        go.Bar(x=[m.name for m in models], y=[m.versions for m in models], marker_color=ACCENT)
    )
    return _embed(fig, title="Versions per model", y_title="versions", counts=True)


def metric_chart(versions: Sequence[ModelVersion], metric: str) -> Markup:
    """Bar chart of one metric across a model's versions, coloured by stage.

    Parameters
    ----------
    versions
        The versions of one model; those without a numeric ``metric`` are left out.
    metric
        The metric to plot, e.g. ``"auc"``.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    shown = sorted(
        (
            v
            for v in versions
            if isinstance(v.metrics.get(metric), int | float)
            and not isinstance(v.metrics.get(metric), bool)
        ),
        key=lambda v: v.version,
    )
    fig = go.Figure()
    for stage in Stage:
        group = [v for v in shown if v.stage == stage]
        if group:
            fig.add_trace(
                go.Bar(
                    name=stage.value,
                    x=[f"v{v.version}" for v in group],
                    y=[v.metrics[metric] for v in group],
                    marker_color=STAGE_COLOURS[stage],
                )
            )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(categoryorder="array", categoryarray=[f"v{v.version}" for v in shown])
    return _embed(fig, title=f"{metric} by version", y_title=metric)
