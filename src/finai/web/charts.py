"""Plotly figures for the dashboard, embedded as HTML fragments (plotly.js is served locally)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
from markupsafe import Markup

from finai.credit import Reason
from finai.registry import ModelSummary, ModelVersion, Stage
from finai.security import AuditEntry

if TYPE_CHECKING:
    from finai.assist.records import DayStats as AssistDay
    from finai.credit import CalibrationBin, KSCurve, RocCurve, ScoreDistribution
    from finai.fraud import Reason as FraudReason
    from finai.fraud.records import DayStats
    from finai.governance import (
        DriftHistory,
        PartialDependence,
        RecordedFairness,
        Vintage,
        Waterfall,
    )

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
ACCENT = "#2563eb"
STAGE_COLOURS = {
    Stage.CANDIDATE: "#94a3b8",
    Stage.CHALLENGER: "#d97706",
    Stage.CHAMPION: "#16a34a",
    Stage.RETIRED: "#cbd5e1",
}
BAD = "#dc2626"
GOOD = "#16a34a"
CHANCE = "#9ca3af"


def numeric_metrics(versions: Iterable[ModelVersion]) -> list[str]:
    """Return the names of metrics that hold a number in at least one version, sorted."""
    names = {
        name
        for v in versions
        for name, value in v.metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    return sorted(names)


def _embed(
    fig: go.Figure,
    *,
    title: str,
    y_title: str,
    counts: bool = False,
    x_title: str | None = None,
    numeric_x: bool = False,
    layout: dict[str, Any] | None = None,
) -> Markup:
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
    fig.update_xaxes(
        type="linear" if numeric_x else "category", linecolor=GRID, tickfont={"color": MUTED}
    )
    if numeric_x:
        fig.update_xaxes(gridcolor=GRID, zeroline=False)
    if x_title:
        fig.update_xaxes(title={"text": x_title, "font": {"color": MUTED}})
    fig.update_yaxes(
        title={"text": y_title, "font": {"color": MUTED}}, gridcolor=GRID, zeroline=False
    )
    if counts:  # whole numbers only, about five ticks
        highest = max((max(trace.y, default=0) for trace in fig.data), default=0)
        fig.update_yaxes(tickformat="d", dtick=max(1, math.ceil(highest / 5)), rangemode="tozero")
    if layout:
        fig.update_layout(layout)
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


# -- credit -------------------------------------------------------------------------------

# curves keep their legend inside the plot, clear of the axis titles
_INSIDE_LEGEND = {"legend": {"orientation": "v", "x": 0.98, "xanchor": "right", "y": 0.04}}
_SHARE_AXES = {
    "xaxis": {"tickformat": ".0%", "range": [0, 1]},
    "yaxis": {"tickformat": ".0%"},
    "margin": {"r": 32},  # room for the 100% tick at the right edge
}


def roc_chart(curve: RocCurve, auc: float) -> Markup:
    """Line chart of a ROC curve against the chance diagonal.

    Parameters
    ----------
    curve
        False and true positive rates (bad = positive), e.g. of out-of-fold PDs.
    auc
        The area under the curve, shown in the title.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    fig = go.Figure(
        [
            go.Scatter(
                name="model",
                x=curve.fpr,
                y=curve.tpr,
                mode="lines",
                line={"color": ACCENT, "width": 2.5},
                hovertemplate="goods flagged %{x:.1%}<br>bads caught %{y:.1%}<extra></extra>",
            ),
            go.Scatter(
                name="chance",
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line={"color": CHANCE, "dash": "dash", "width": 1},
                hoverinfo="skip",
            ),
        ]
    )
    return _embed(
        fig,
        title=f"ROC curve · AUC {auc:.3f}",
        y_title="bads caught (TPR)",
        x_title="goods flagged (FPR)",
        numeric_x=True,
        layout={**_INSIDE_LEGEND, **_SHARE_AXES},
    )


def ks_chart(curve: KSCurve) -> Markup:
    """Cumulative shares of bad and good rows by share of applicants flagged, with the KS gap.

    Parameters
    ----------
    curve
        The KS curves (riskiest applicants first).

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    peak = int(abs(curve.bad_share - curve.good_share).argmax())
    at = float(curve.population[peak])
    fig = go.Figure(
        [
            go.Scatter(
                name="bad",
                x=curve.population,
                y=curve.bad_share,
                mode="lines",
                line={"color": BAD, "width": 2.5},
                hovertemplate="flagged %{x:.1%}: %{y:.1%} of bads<extra></extra>",
            ),
            go.Scatter(
                name="good",
                x=curve.population,
                y=curve.good_share,
                mode="lines",
                line={"color": GOOD, "width": 2.5},
                hovertemplate="flagged %{x:.1%}: %{y:.1%} of goods<extra></extra>",
            ),
            go.Scatter(
                name=f"KS {curve.ks:.3f}",
                x=[at, at],
                y=[float(curve.good_share[peak]), float(curve.bad_share[peak])],
                mode="lines",
                line={"color": INK, "dash": "dot", "width": 1.5},
                hovertemplate=f"KS {curve.ks:.3f} at PD {curve.ks_threshold:.1%}<extra></extra>",
            ),
        ]
    )
    return _embed(
        fig,
        title=f"KS · {curve.ks:.3f} at PD {curve.ks_threshold:.1%}",
        y_title="share at or above cut-off",
        x_title="applicants flagged, riskiest first",
        numeric_x=True,
        layout={**_INSIDE_LEGEND, **_SHARE_AXES},
    )


def calibration_chart(bins: Sequence[CalibrationBin]) -> Markup:
    """Bar chart of mean predicted PD against observed bad rate per PD decile.

    Parameters
    ----------
    bins
        Calibration bins, lowest PD first (up to ten; fewer when PDs tie).

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    labels = [str(i) for i in range(1, len(bins) + 1)]
    counts = [b.count for b in bins]
    fig = go.Figure(
        [
            go.Bar(
                name="predicted PD",
                x=labels,
                y=[b.mean_pd for b in bins],
                marker_color=ACCENT,
                customdata=counts,
                hovertemplate="decile %{x}: predicted %{y:.1%} (%{customdata} rows)<extra></extra>",
            ),
            go.Bar(
                name="observed bad rate",
                x=labels,
                y=[b.bad_rate for b in bins],
                marker_color="#f59e0b",
                customdata=counts,
                hovertemplate="decile %{x}: observed %{y:.1%} (%{customdata} rows)<extra></extra>",
            ),
        ]
    )
    return _embed(
        fig,
        title="Calibration by PD decile",
        y_title="PD / bad rate",
        x_title="decile of predicted PD (1 = safest)",
        layout={
            "barmode": "group",
            "bargap": 0.25,
            "yaxis": {"tickformat": ".0%", "rangemode": "tozero"},
            "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
            "title": {"y": 0.97, "yanchor": "top"},
            "margin": {"t": 64},
        },
    )


def score_chart(distribution: ScoreDistribution, title: str) -> Markup:
    """Histogram of credit scores.

    Parameters
    ----------
    distribution
        Bin edges and counts (unsplit, or split into bad and good rows).
    title
        The figure's title, saying whose scores these are.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    edges = distribution.edges
    mids = (edges[:-1] + edges[1:]) / 2
    width = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
    hover = "score %{x:.0f}: %{y} rows<extra></extra>"
    if distribution.bad_counts is not None and distribution.good_counts is not None:
        bars = [
            go.Bar(name="good", x=mids, y=distribution.good_counts, width=width,
                   marker_color=GOOD, hovertemplate=hover),
            go.Bar(name="bad", x=mids, y=distribution.bad_counts, width=width,
                   marker_color=BAD, hovertemplate=hover),
        ]  # fmt: skip
    else:
        bars = [
            go.Bar(name="applicants", x=mids, y=distribution.counts, width=width * 0.9,
                   marker_color=ACCENT, hovertemplate=hover),
        ]  # fmt: skip
    fig = go.Figure(bars)
    return _embed(
        fig,
        title=title,
        y_title="applicants",
        x_title="credit score (higher is safer)",
        numeric_x=True,
        layout={
            "barmode": "stack",
            "yaxis": {"tickformat": ",d", "rangemode": "tozero"},
            **_INSIDE_LEGEND,
        },
    )


def reasons_chart(reasons: Sequence[Reason], unit: str) -> Markup:
    """Horizontal waterfall of how much each adverse reason hurt, summing to the total.

    Parameters
    ----------
    reasons
        A decision's reasons, most adverse first; only positive contributions are drawn
        (knock-outs and missing income carry none).
    unit
        What a contribution measures, e.g. ``"points lost"``.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    shown = [r for r in reasons if r.contribution > 0]
    labels = [f"{r.feature} = {r.value}" for r in shown]
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["relative"] * len(shown) + ["total"],
            y=[*labels, "total"],
            x=[r.contribution for r in shown] + [0],
            text=[f"{r.contribution:.2f}" for r in shown]
            + [f"{sum(r.contribution for r in shown):.2f}"],
            textposition="outside",
            cliponaxis=False,
            increasing={"marker": {"color": BAD}},
            totals={"marker": {"color": INK}},
            connector={"line": {"color": GRID}},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    return _embed(
        fig,
        title=f"What lowered this decision ({unit})",
        y_title="",
        x_title=unit,
        numeric_x=True,
        layout={
            "yaxis": {"autorange": "reversed", "automargin": True, "gridcolor": "white"},
            "margin": {"l": 16, "r": 48},
            "height": 120 + 44 * (len(shown) + 1),
        },
    )


# -- fraud --------------------------------------------------------------------------------

ACTION_COLOURS = {"allow": "#94a3b8", "review": "#f59e0b", "block": BAD}
REVIEW_LINE = "#b45309"


def fraud_score_chart(
    edges: Sequence[float],
    counts: Mapping[str, Sequence[int]],
    *,
    review: float | None,
    block: float | None,
    title: str,
) -> Markup:
    """Histogram of fraud scores, stacked by the action taken, with the cut-offs marked.

    Parameters
    ----------
    edges
        Bin edges over [0, 1], one more than the counts of each action.
    counts
        Scores per bin, by action (``allow``, ``review``, ``block``) as stored.
    review, block
        The model's review and block thresholds, drawn as vertical lines (None: none).
    title
        The figure's title, saying whose scores these are.

    Returns
    -------
    Markup
        The figure as an HTML fragment. The count axis is logarithmic: most scores
        lie near 0 and the alerted tail would not show on a linear one.
    """
    lows = list(edges[:-1])
    mids = [(a + b) / 2 for a, b in pairwise(edges)]
    width = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
    fig = go.Figure(
        [
            go.Bar(
                name=action,
                x=mids,
                y=[n if n else None for n in counts.get(action, [])],
                width=width * 0.9,
                marker_color=colour,
                customdata=[[lo, lo + width] for lo in lows],
                hovertemplate=(
                    f"{action}: %{{y}} scores in %{{customdata[0]:.3f}}"
                    " to %{customdata[1]:.3f}<extra></extra>"
                ),
            )
            for action, colour in ACTION_COLOURS.items()
            if any(counts.get(action, []))
        ]
    )
    for name, cut, colour in (("review", review, REVIEW_LINE), ("block", block, BAD)):
        if cut is not None and math.isfinite(cut) and cut <= 1:
            fig.add_vline(
                x=cut,
                line={"color": colour, "dash": "dash", "width": 1.5},
                annotation={
                    "text": f"{name} ≥ {cut:.3g}",
                    "font": {"color": colour},
                    "yshift": -16 if name == "block" else 0,  # clear of the review label
                },
                annotation_position="top right",
            )
    highest = max([sum(column) for column in zip(*counts.values(), strict=True)] + [1])
    ticks = [m * 10**k for k in range(len(str(highest)) + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if t <= highest * 2]
    return _embed(
        fig,
        title=title,
        y_title="scores (log scale)",
        x_title="fraud score (higher is more suspect)",
        numeric_x=True,
        layout={
            "barmode": "stack",
            "showlegend": True,
            "xaxis": {"range": [0, 1]},
            # from below 1 (a lone score shows) to above the tallest stack, with headroom
            "yaxis": {
                "type": "log",
                "range": [-0.1, math.log10(highest) + 0.3],
                "tickvals": ticks,
                "ticktext": [f"{t:,}" for t in ticks],
            },
            "legend": {
                "orientation": "h",
                "x": 0,
                "y": 1.0,
                "yanchor": "bottom",
                "traceorder": "normal",
            },
            "title": {"y": 0.97, "yanchor": "top"},
            "margin": {"t": 72},
        },
    )


def alerts_chart(days: Sequence[DayStats], budget: float | None) -> Markup:
    """Bar chart of alerts opened per day against the model's daily alert budget.

    Parameters
    ----------
    days
        Alert counts per UTC day, oldest first.
    budget
        Alerts a day the thresholds were chosen for (None for cost-based thresholds:
        no line is drawn). Days over it are drawn in red.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    labels = [d.day.isoformat() for d in days]
    over = [budget is not None and d.alerts > budget for d in days]
    fig = go.Figure(
        go.Bar(
            name="alerts",
            x=labels,
            y=[d.alerts for d in days],
            marker_color=[BAD if o else ACCENT for o in over],
            customdata=[d.resolved for d in days],
            hovertemplate="%{x}: %{y} alerts opened, %{customdata} resolved<extra></extra>",
        )
    )
    title = "Alerts per day"
    if budget is not None:
        fig.add_hline(
            y=budget,
            line={"color": INK, "dash": "dash", "width": 1.5},
            annotation={"text": f"budget {budget:g}/day", "font": {"color": INK}},
            annotation_position="top left",
        )
        title += f" · budget {budget:g}"
    highest = max([d.alerts for d in days] + [budget or 0, 1])
    return _embed(
        fig,
        title=title,
        y_title="alerts opened",
        layout={
            "xaxis": {"type": "date", "tickformat": "%b %d"},
            "yaxis": {"rangemode": "tozero", "range": [0, highest * 1.15]},
        },
    )


def precision_chart(days: Sequence[DayStats], overall: float | None) -> Markup:
    """Share of the alerts resolved each day that were fraud, and over all days.

    Parameters
    ----------
    days
        Alert counts per UTC day, oldest first; days without resolutions have no bar.
    overall
        Fraud over resolved across ``days``, drawn as a dashed line (None: none resolved).

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    fig = go.Figure(
        go.Bar(
            name="precision",
            x=[d.day.isoformat() for d in days],
            y=[d.fraud / d.resolved if d.resolved else None for d in days],
            marker_color=GOOD,
            customdata=[[d.fraud, d.resolved] for d in days],
            hovertemplate=(
                "%{x}: %{y:.0%} (%{customdata[0]} fraud of %{customdata[1]} resolved)"
                "<extra></extra>"
            ),
        )
    )
    title = "Precision of resolved alerts"
    if overall is not None:
        fig.add_hline(
            y=overall,
            line={"color": INK, "dash": "dash", "width": 1.5},
            annotation={"text": f"overall {overall:.0%}", "font": {"color": INK}},
            annotation_position="top left",
        )
        title += f" · {overall:.0%} overall"
    return _embed(
        fig,
        title=title,
        y_title="fraud / resolved",
        layout={
            "xaxis": {"type": "date", "tickformat": "%b %d"},
            "yaxis": {"tickformat": ".0%", "range": [0, 1.08]},
        },
    )


def contributions_chart(reasons: Sequence[FraudReason], unit: str) -> Markup:
    """Horizontal bars of how much each feature raised a fraud score, strongest on top.

    Parameters
    ----------
    reasons
        The score's reasons; those without a finite contribution are left out.
    unit
        What a contribution measures, e.g. ``"log-odds added"``.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    shown = [r for r in reasons if math.isfinite(r.contribution)]
    labels = [
        f"{r.feature} = {r.value:.4g}" if math.isfinite(r.value) else f"{r.feature} = missing"
        for r in shown
    ]
    fig = go.Figure(
        go.Bar(
            orientation="h",
            y=labels,
            x=[r.contribution for r in shown],
            marker_color=[BAD if r.contribution > 0 else GOOD for r in shown],
            text=[f"{r.contribution:+.3f}" for r in shown],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    return _embed(
        fig,
        title=f"What raised this score ({unit})",
        y_title="",
        x_title=unit,
        numeric_x=True,
        layout={
            "yaxis": {"autorange": "reversed", "automargin": True, "gridcolor": "white"},
            "margin": {"l": 16, "r": 56},
            "height": 120 + 44 * max(len(shown), 1),
        },
    )


# -- monitoring ---------------------------------------------------------------------------

EXPECTED = "#f59e0b"
WATCH_LINE = "#d97706"


def default_rate_chart(vintages: Sequence[Vintage], confidence: float) -> Markup:
    """Realised default rate by vintage against the expected one and its binomial interval.

    Parameters
    ----------
    vintages
        Vintages with outcomes, oldest first.
    confidence
        Coverage of the intervals, shown in the legend.

    Returns
    -------
    Markup
        The figure as an HTML fragment. The interval is drawn as a band per vintage; a
        realised rate outside it is drawn in red, and hollow when the vintage is too
        small to alert.
    """
    labels = [v.vintage for v in vintages]
    outside = [
        v.interval is not None
        and v.default_rate is not None
        and not v.interval[0] <= v.default_rate <= v.interval[1]
        for v in vintages
    ]
    colours = [BAD if out else ACCENT for out in outside]
    fig = go.Figure(
        [
            go.Bar(
                name=f"{confidence:.0%} interval",
                x=labels,
                base=[v.interval[0] if v.interval else None for v in vintages],
                y=[v.interval[1] - v.interval[0] if v.interval else None for v in vintages],
                marker_color=GRID,
                customdata=[list(v.interval) if v.interval else [None, None] for v in vintages],
                hovertemplate=(
                    "%{x}: consistent with expected from %{customdata[0]:.1%}"
                    " to %{customdata[1]:.1%}<extra></extra>"
                ),
            ),
            go.Scatter(
                name="expected (mean PD)",
                x=labels,
                y=[v.expected_rate for v in vintages],
                mode="lines+markers",
                line={"color": EXPECTED, "width": 2, "dash": "dash"},
                hovertemplate="%{x}: expected %{y:.1%}<extra></extra>",
            ),
            go.Scatter(
                name="realised",
                x=labels,
                y=[v.default_rate for v in vintages],
                mode="markers",
                marker={
                    "color": [
                        "white" if v.too_small else c
                        for c, v in zip(colours, vintages, strict=True)
                    ],
                    "line": {"color": colours, "width": 2},
                    "size": 10,
                },
                customdata=[[v.defaults, v.outcomes] for v in vintages],
                hovertemplate=(
                    "%{x}: realised %{y:.1%} (%{customdata[0]} of %{customdata[1]})<extra></extra>"
                ),
            ),
        ]
    )
    return _embed(
        fig,
        title="Realised vs expected default rate by vintage",
        y_title="default rate",
        x_title="month of decision",
        layout={
            "bargap": 0.55,
            "yaxis": {"tickformat": ".0%", "rangemode": "tozero"},
            "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
            "title": {"y": 0.97, "yanchor": "top"},
            "margin": {"t": 72},
        },
    )


def discrimination_chart(
    vintages: Sequence[Vintage], training_auc: float | None, training_ks: float | None
) -> Markup:
    """AUC and KS of each vintage against their values at training.

    Parameters
    ----------
    vintages
        Vintages, oldest first; those without both classes have no point.
    training_auc, training_ks
        The version's training values, drawn as dotted lines (None: not drawn).

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    labels = [v.vintage for v in vintages]
    fig = go.Figure()
    for name, values, trained, colour in (
        ("AUC", [v.auc for v in vintages], training_auc, ACCENT),
        ("KS", [v.ks for v in vintages], training_ks, GOOD),
    ):
        fig.add_trace(
            go.Scatter(
                name=name,
                x=labels,
                y=values,
                mode="lines+markers",
                line={"color": colour, "width": 2},
                customdata=[v.outcomes for v in vintages],
                hovertemplate=(
                    f"%{{x}}: {name} %{{y:.3f}} (%{{customdata}} outcomes)<extra></extra>"
                ),
            )
        )
        if trained is not None:
            fig.add_hline(
                y=trained,
                line={"color": colour, "dash": "dot", "width": 1.5},
                annotation={"text": f"{name} at training {trained:.3f}", "font": {"color": colour}},
                annotation_position="top left",
            )
    return _embed(
        fig,
        title="AUC and KS by vintage against training",
        y_title="AUC / KS",
        x_title="month of decision",
        layout={
            "yaxis": {"range": [0, 1.05]},
            "showlegend": True,
            "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
            "title": {"y": 0.97, "yanchor": "top"},
            "margin": {"t": 72},
        },
    )


def psi_chart(history: DriftHistory) -> Markup:
    """PSI of the score, and of the most shifted feature, at each stored drift check.

    Parameters
    ----------
    history
        The checks, oldest first, and the watch and act bands, drawn as dashed lines.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    points = history.points
    times = [p.checked_at for p in points]
    worst = [p.worst_feature for p in points]
    fig = go.Figure(
        [
            go.Scatter(
                name="score PSI",
                x=times,
                y=[p.score_psi for p in points],
                mode="lines+markers",
                line={"color": ACCENT, "width": 2.5},
                customdata=[[p.model_version, p.rows, p.status] for p in points],
                hovertemplate=(
                    "%{x|%Y-%m-%d %H:%M}: PSI %{y:.3f} (v%{customdata[0]},"
                    " %{customdata[1]} rows, %{customdata[2]})<extra></extra>"
                ),
            ),
            go.Scatter(
                name="most shifted feature",
                x=times,
                y=[w[1] if w else None for w in worst],
                mode="lines+markers",
                line={"color": MUTED, "width": 1.5},
                customdata=[w[0] if w else "" for w in worst],
                hovertemplate="%{x|%Y-%m-%d %H:%M}: %{customdata} %{y:.3f}<extra></extra>",
            ),
        ]
    )
    for label, value, colour in (
        ("watch", history.watch, WATCH_LINE),
        ("act", history.act, BAD),
    ):
        fig.add_hline(
            y=value,
            line={"color": colour, "dash": "dash", "width": 1.5},
            annotation={"text": f"{label} {value:g}", "font": {"color": colour}},
            annotation_position="top left",
        )
    highest = max(
        [history.act * 1.2]
        + [p.score_psi for p in points if p.score_psi is not None]
        + [w[1] * 1.05 for w in worst if w]
    )
    return _embed(
        fig,
        title="PSI over time",
        y_title="PSI",
        layout={
            "xaxis": {"type": "date"},
            "yaxis": {"rangemode": "tozero", "range": [0, highest]},
            "showlegend": True,
        },
    )


# -- governance: explanations and fairness -------------------------------------------------

FOUR_FIFTHS_LINE = 0.8
"""The four-fifths rule's threshold, drawn on disparate impact ratios."""


def importance_chart(
    features: Sequence[str], values: Sequence[float], *, title: str, x_title: str
) -> Markup:
    """Horizontal bars of one importance measure per feature, largest on top.

    Parameters
    ----------
    features
        Feature names, in the order to draw them (most important first).
    values
        The measure of each feature (gain share, mean |contribution| or information value).
    title, x_title
        The figure's title and what the measure is.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    fig = go.Figure(
        go.Bar(
            orientation="h",
            y=list(features),
            x=list(values),
            marker_color=ACCENT,
            hovertemplate="%{y}: %{x:.4g}<extra></extra>",
        )
    )
    return _embed(
        fig,
        title=title,
        y_title="",
        x_title=x_title,
        numeric_x=True,
        layout={
            "yaxis": {"autorange": "reversed", "automargin": True, "gridcolor": "white"},
            "margin": {"l": 16},
            "height": 120 + 26 * max(len(features), 1),
        },
    )


def partial_dependence_chart(curve: PartialDependence) -> Markup:
    """Line of a numeric feature's partial dependence, or markers over categories and bins.

    Parameters
    ----------
    curve
        The feature's grid and the average prediction at each grid value.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    x = [str(v) for v in curve.grid] if curve.categorical else list(curve.grid)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=list(curve.average),
            mode="lines+markers" if curve.categorical else "lines",
            line={"color": ACCENT, "width": 2.5, "shape": "linear" if curve.categorical else "hv"},
            hovertemplate=f"{curve.feature} = %{{x}}: %{{y:.4g}} {curve.unit}<extra></extra>",
        )
    )
    return _embed(
        fig,
        title=f"{curve.feature} · partial dependence",
        y_title=f"average {curve.unit}",
        x_title=curve.feature,
        numeric_x=not curve.categorical,
        layout={"yaxis": {"automargin": True}, "xaxis": {"automargin": True}},
    )


def impact_chart(record: RecordedFairness) -> Markup:
    """Disparate impact ratio per protected attribute, with its interval and the 0.8 line.

    Parameters
    ----------
    record
        A fairness report recorded in the audit chain; attributes without a ratio
        (groups too small) are left out.

    Returns
    -------
    Markup
        The figure as an HTML fragment; ratios below 0.8 (failing the four-fifths
        rule) are red.
    """
    shown = [a for a in record.attributes if a.ratio is not None]
    ratios = [float(a.ratio or 0.0) for a in shown]
    upper = [a.interval[1] - r if a.interval else 0.0 for a, r in zip(shown, ratios, strict=True)]
    lower = [r - a.interval[0] if a.interval else 0.0 for a, r in zip(shown, ratios, strict=True)]
    fig = go.Figure(
        go.Bar(
            x=[a.name for a in shown],
            y=ratios,
            marker_color=[BAD if r < FOUR_FIFTHS_LINE else GOOD for r in ratios],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": upper,
                "arrayminus": lower,
                "color": INK,
            },
            hovertemplate="%{x}: ratio %{y:.3f}<extra></extra>",
        )
    )
    fig.add_hline(
        y=FOUR_FIFTHS_LINE,
        line={"color": INK, "dash": "dash", "width": 1.5},
        annotation={"text": "four-fifths 0.8", "font": {"color": INK}},
        annotation_position="top left",
    )
    highest = max([*(a.interval[1] for a in shown if a.interval), *ratios, 1.0])
    return _embed(
        fig,
        title="Disparate impact: lowest over highest approval rate",
        y_title="ratio",
        layout={"yaxis": {"range": [0, highest * 1.08]}},
    )


def waterfall_chart(waterfall: Waterfall, unit: str) -> Markup:
    """Waterfall of a stored decision: the model's base, each reason, the rest, the result.

    Parameters
    ----------
    waterfall
        The steps rebuilt from the decision (:func:`finai.governance.decision_waterfall`).
    unit
        What a reason's contribution measures, e.g. ``"points lost"``, for the title.

    Returns
    -------
    Markup
        The figure as an HTML fragment. Steps that raise the risk are red whatever the
        unit: for points a fall, for log-odds of bad a rise.
    """
    points = waterfall.unit == "score points"
    steps = waterfall.steps
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=[s.measure for s in steps],
            y=[s.label for s in steps],
            x=[s.value for s in steps],
            text=[
                f"{s.value:+.2f}" if s.measure == "relative" else f"{s.value:.2f}" for s in steps
            ],
            textposition="outside",
            cliponaxis=False,
            increasing={"marker": {"color": GOOD if points else BAD}},
            decreasing={"marker": {"color": BAD if points else GOOD}},
            totals={"marker": {"color": INK}},
            connector={"line": {"color": GRID}},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    values = [s.value for s in steps if s.measure != "relative"]
    running, levels = 0.0, []
    for s in steps:
        running = s.value if s.measure != "relative" else running + s.value
        levels.append(running)
    low, high = min(levels + values), max(levels + values)
    pad = (high - low) * 0.15 or 1.0
    return _embed(
        fig,
        title=f"What lowered this decision ({unit}): from the base to the result",
        y_title="",
        x_title=waterfall.unit,
        numeric_x=True,
        layout={
            "yaxis": {"autorange": "reversed", "automargin": True, "gridcolor": "white"},
            "xaxis": {"range": [low - pad, high + pad]},
            "margin": {"l": 16, "r": 56},
            "height": 120 + 40 * len(steps),
        },
    )


def intents_chart(days: Sequence[AssistDay], top: int = 8) -> Markup:
    """Stacked bars of customer messages per day by intent: the ``top`` intents, the rest.

    Parameters
    ----------
    days
        Message counts per UTC day, oldest first (:func:`finai.assist.records.daily_stats`).
    top
        Intents drawn on their own, the most frequent over all days; the others are
        summed as "other", messages without an intent (out of scope) as "out of scope".

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    totals: Counter[str] = Counter()
    for d in days:
        totals.update(d.intents)
    named = [name for name, _ in totals.most_common() if name != "-"][:top]
    labels = [d.day.isoformat() for d in days]
    fig = go.Figure()
    for name in named:
        fig.add_trace(go.Bar(name=name, x=labels, y=[d.intents.get(name, 0) for d in days]))
    rest = [sum(n for k, n in d.intents.items() if k not in named and k != "-") for d in days]
    if any(rest):
        fig.add_trace(go.Bar(name="other", x=labels, y=rest, marker_color=CHANCE))
    if totals.get("-"):
        fig.add_trace(
            go.Bar(
                name="out of scope",
                x=labels,
                y=[d.intents.get("-", 0) for d in days],
                marker_color=BAD,
            )
        )
    return _embed(
        fig,
        title="Customer messages per day, by intent",
        y_title="messages",
        layout={"barmode": "stack", "xaxis": {"type": "date", "tickformat": "%b %d"}},
    )


def sentiment_chart(days: Sequence[AssistDay]) -> Markup:
    """Mean sentiment of customer messages per day, with the handoffs opened each day.

    Parameters
    ----------
    days
        Message counts per UTC day, oldest first; days without messages have no point.

    Returns
    -------
    Markup
        The figure as an HTML fragment.
    """
    labels = [d.day.isoformat() for d in days]
    fig = go.Figure(
        [
            go.Scatter(
                name="mean sentiment",
                x=labels,
                y=[d.sentiment for d in days],
                mode="lines+markers",
                line={"color": ACCENT},
                customdata=[d.messages for d in days],
                hovertemplate="%{x}: %{y:.2f} over %{customdata} messages<extra></extra>",
            ),
            go.Bar(
                name="handoffs",
                x=labels,
                y=[d.handoffs for d in days],
                marker_color=BAD,
                opacity=0.35,
                yaxis="y2",
            ),
        ]
    )
    return _embed(
        fig,
        title="Sentiment and handoffs per day",
        y_title="mean sentiment (-1 to 1)",
        layout={
            "xaxis": {"type": "date", "tickformat": "%b %d"},
            "yaxis": {"range": [-1.05, 1.05]},
            "yaxis2": {
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "title": {"text": "handoffs", "font": {"color": MUTED}},
                "showgrid": False,
            },
        },
    )
