"""``finai governance``: fairness reports of registered models."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from finai.cli.common import DataOption, ModelRefOption, out, platform_session

if TYPE_CHECKING:
    from finai.governance import FairnessReport

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
    if as_json:
        out.print_json(json.dumps(report.to_dict(), allow_nan=False))
        return
    _print_report(report)


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
