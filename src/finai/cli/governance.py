"""``finai governance``: fairness reports of registered models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from finai.cli.common import (
    CLI_ACTOR,
    DataOption,
    ModelRefOption,
    fail,
    fmt_time,
    out,
    platform_session,
)

if TYPE_CHECKING:
    from finai.governance import DriftReport, FairnessReport

_OTHER_METRICS = ("true_positive_rate", "false_positive_rate", "auc", "bad_rate")

app = typer.Typer(help="Model governance: fairness reports.", no_args_is_help=True)


@app.command("fairness")
def governance_fairness(
    model: ModelRefOption,
    data: DataOption,
    target: Annotated[str, typer.Option(help="The outcome column.")],
    protected: Annotated[
        list[str],
        typer.Option(
            metavar="COL[:CUTS]",
            help="Protected column (repeat). COL:25 or COL:25,40,60 bands a numeric column"
            " at those cut points (<25, 25-40, ...); without cuts its values are the groups.",
        ),
    ],
    bad: Annotated[
        str | None,
        typer.Option(help="Target value meaning bad (default: inferred, or the model's)."),
    ] = None,
    min_group: Annotated[
        int, typer.Option(min=1, help="Smaller groups are reported as too small.")
    ] = 30,
    resamples: Annotated[int, typer.Option(min=1, max=100_000, help="Bootstrap resamples.")] = 500,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the bootstrap.")] = 42,
    confidence: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Coverage of the intervals.")
    ] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Approval and error rates by protected group, disparate impact, equal opportunity.

    Approval is the stored lending policy's approve cut-off (the built-in default policy
    when none is stored) applied to the model's PD.
    The report's summary (the table's fingerprint and each attribute's disparate
    impact) is recorded in the audit chain as ``model.fairness``.
    """
    from finai import credit, governance

    with platform_session() as (platform, session):
        frame = credit.load_table(data)
        report = governance.model_fairness_report(
            session,
            platform.artifact_dir,
            frame,
            model_ref=model,
            target=target,
            protected=protected,
            bad=bad,
            min_group=min_group,
            resamples=resamples,
            seed=seed,
            confidence=confidence,
        )
        governance.record_fairness(
            session, platform.audit_key, report, frame=frame, actor=CLI_ACTOR
        )
        session.commit()
    if as_json:
        out.print_json(json.dumps(report.to_dict(), allow_nan=False))
        return
    _print_report(report)


@app.command("drift")
def governance_drift(
    model: ModelRefOption,
    current: Annotated[
        Path | None,
        typer.Option(
            "--current", help="CSV or Parquet table of current applicants.", dir_okay=False
        ),
    ] = None,
    stored: Annotated[
        bool,
        typer.Option("--stored", help="Compare the decisions stored in the last --days days."),
    ] = False,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3660, help="Window of --stored, in days (default 30)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """PSI of the score and of each feature against the training data; the check is recorded.

    Bands: below 0.1 stable, 0.1 to 0.25 watch, above 0.25 act.
    """
    from finai import credit, governance

    if (current is None) == (not stored):
        raise fail("give either --current PATH or --stored")
    if days is not None and not stored:
        raise fail("--days goes with --stored")
    with platform_session() as (platform, session):
        frame = credit.load_table(current) if current is not None else None
        check = governance.check_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            model_ref=model,
            actor=CLI_ACTOR,
            current=frame,
            days=days or governance.DRIFT_DAYS,
        )
        session.commit()
    if as_json:
        out.print_json(json.dumps(check.report.to_dict(), allow_nan=False))
        return
    _print_drift(check.report)


def _print_drift(report: DriftReport) -> None:
    window = (
        f"decisions from {fmt_time(report.window_start)} to {fmt_time(report.window_end)}"
        if report.window_start is not None
        else "current applicants"
    )
    out.print(
        f"[bold]{report.model}:{report.version}[/]: {report.rows:,} rows ({window});"
        f" status {_band(report.status)}",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(caption="PSI: below 0.1 stable, 0.1-0.25 watch, above 0.25 act")
    table.add_column("")
    table.add_column("PSI", justify="right", no_wrap=True)
    table.add_column("band", no_wrap=True)
    table.add_row("[bold]score[/]", f"{report.score.psi:.4f}", _band(report.score.band))
    for feature in report.features:
        table.add_row(feature.feature, f"{feature.psi:.4f}", _band(feature.band))
    out.print(table)
    if not report.features:
        out.print(
            "  no feature reference in this model version (trained before one was"
            " recorded): score only",
            highlight=False,
        )


def _band(band: str) -> str:
    colour = {"stable": "green", "watch": "yellow", "act": "bold red"}.get(band, "")
    return f"[{colour}]{band}[/]" if colour else band


def _print_report(report: FairnessReport) -> None:
    policy = (
        f"policy {report.policy_name} v{report.policy_version}"
        if report.policy_version is not None
        else f"built-in policy {report.policy_name}"
    )
    out.print(
        f"[bold]{report.model}[/]: approved = PD < {report.approve_below:g} ({policy});"
        f" {report.rows:,} rows, bad = {report.target} {report.bad};"
        f" {report.confidence:.0%} intervals from {report.resamples} resamples"
        f" (seed {report.seed})",
        highlight=False,
        soft_wrap=True,
    )
    for attribute in report.attributes:
        table = Table(
            title=attribute.name,
            caption=f"approved: approval rate and its {report.confidence:.0%} interval;"
            " TPR, FPR: approval rate of good, bad payers; bad: bad rate; ratio: impact"
            " ratio (small: too few rows)",
        )
        table.add_column("group")
        for header in ("n", "approved", "interval", "TPR", "FPR", "AUC", "bad", "ratio"):
            table.add_column(header, no_wrap=True, justify="right")
        for group in attribute.groups:
            ratio = "small" if group.too_small else _ratio_text(group.impact_ratio)
            table.add_row(
                group.group,
                f"{group.count:,}",
                _value(group.metrics.get("selection_rate")),
                _span(group.intervals.get("selection_rate")),
                *(_value(group.metrics.get(name)) for name in _OTHER_METRICS),
                ratio,
            )
        out.print(table)
        impact = attribute.disparate_impact
        if impact.ratio is None:
            out.print(f"  disparate impact: n/a ({impact.note})", highlight=False)
        else:
            verdict = "passes" if impact.passes_four_fifths else "[bold red]fails[/]"
            out.print(
                f"  disparate impact {impact.ratio:.3f} {_interval(impact.interval)}"
                f" ({impact.lowest_group} vs {impact.highest_group}): {verdict} the"
                " four-fifths rule",
                highlight=False,
                soft_wrap=True,
            )
        opportunity = attribute.equal_opportunity
        if opportunity.difference is None:
            out.print(f"  equal-opportunity difference: n/a ({opportunity.note})", highlight=False)
        else:
            out.print(
                f"  equal-opportunity difference {opportunity.difference:.3f}"
                f" {_interval(opportunity.interval)} ({opportunity.highest_group} vs"
                f" {opportunity.lowest_group})",
                highlight=False,
                soft_wrap=True,
            )


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _span(interval: tuple[float, float] | None) -> str:
    return "" if interval is None else f"{interval[0]:.3f}-{interval[1]:.3f}"


def _interval(interval: tuple[float, float] | None) -> str:
    return "" if interval is None else f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def _ratio_text(ratio: float | None) -> str:
    from finai.governance import FOUR_FIFTHS

    if ratio is None:
        return "-"
    return f"{ratio:.3f}" if ratio >= FOUR_FIFTHS else f"[bold red]{ratio:.3f}[/]"


@app.command("monitoring")
def governance_monitoring(
    model: ModelRefOption,
    min_outcomes: Annotated[
        int, typer.Option(min=1, help="Vintages with fewer outcomes are too small to alert.")
    ] = 100,
    auc_tolerance: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Alert when AUC is this far below training.")
    ] = 0.05,
    ks_tolerance: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Alert when KS is this far below training.")
    ] = 0.08,
    confidence: Annotated[
        float,
        typer.Option(
            min=0.51, max=0.9999, help="Coverage of the binomial interval of the default rate."
        ),
    ] = 0.99,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Realised default rate, AUC and KS by month of decision against training, with alerts.

    Outcomes come from `finai credit outcomes` or the API. Only the decisions of the
    model version asked for (default: the champion, else the newest) are counted.
    """
    from finai import governance, registry

    with platform_session() as (_platform, session):
        name, version = registry.parse_ref(model)
        report = governance.vintage_report(
            session,
            name,
            version,
            min_outcomes=min_outcomes,
            auc_tolerance=auc_tolerance,
            ks_tolerance=ks_tolerance,
            confidence=confidence,
        )
    if as_json:
        out.print_json(json.dumps(report.to_dict(), allow_nan=False))
        return
    trained = report.training
    out.print(
        f"[bold]{report.ref}[/] ({report.stage}): training AUC {_value(trained.auc)},"
        f" KS {_value(trained.ks)}; alerts below AUC - {report.auc_tolerance:g}, KS -"
        f" {report.ks_tolerance:g}, or outside the {report.confidence:.0%} interval",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(
        caption=f"realised: default rate of the outcomes; expected: their mean PD; small:"
        f" fewer than {report.min_outcomes} outcomes (no alerts)"
    )
    table.add_column("vintage", no_wrap=True)
    for header in ("decisions", "outcomes", "realised", "expected", "interval", "obs/exp"):
        table.add_column(header, justify="right", no_wrap=True)
    for header in ("AUC", "KS", ""):
        table.add_column(header, justify="right", no_wrap=True)
    for v in [*report.vintages, report.overall]:
        table.add_row(
            f"[bold]{v.vintage}[/]" if v is report.overall else v.vintage,
            f"{v.decisions:,}",
            f"{v.outcomes:,}",
            _value(v.default_rate),
            _value(v.expected_rate),
            _span(v.interval),
            _value(v.calibration),
            _value(v.auc),
            _value(v.ks),
            "small" if v.too_small else "",
        )
    out.print(table)
    if not report.alerts:
        out.print("no alerts", highlight=False)
    for alert in report.alerts:
        out.print(f"[bold red]alert:[/] {alert.message}", highlight=False, soft_wrap=True)
