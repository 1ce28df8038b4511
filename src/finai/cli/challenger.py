"""``finai governance challenger`` and ``finai governance mitigate``.

Both are commands of the ``governance`` sub-app: the challenger comparison report, and
a fairness-constrained candidate trained against a registered model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from finai.cli.common import CLI_ACTOR, DataOption, ModelRefOption, out, platform_session
from finai.cli.governance import app

if TYPE_CHECKING:
    from finai.governance import ChallengerComparison, Mitigation

__all__ = ["governance_challenger", "governance_mitigate"]


@app.command("challenger")
def governance_challenger(
    model: Annotated[str, typer.Option("--model", help="The model NAME.")],
    version: Annotated[
        int | None,
        typer.Option(
            min=1, help="The challenger version (default: the current one, else the latest)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compare the champion's live decisions with its challenger's shadow answers.

    Agreement and the table of outcomes, PSI between the two score distributions,
    mean PD of each, and AUC of each on decisions with a reported outcome.
    """
    from finai import governance

    with platform_session() as (_platform, session):
        report = governance.comparison(session, model, version)
    if as_json:
        out.print_json(json.dumps(report.to_dict(), allow_nan=False))
        return
    _print_comparison(report)


def _print_comparison(report: ChallengerComparison) -> None:
    if report.count == 0:
        out.print(f"{report.name}: no decisions with a shadow answer yet", highlight=False)
        return
    champions = ", ".join(str(v) for v in report.champion_versions)
    out.print(
        f"[bold]{report.name}[/]: champion v{champions} against challenger"
        f" v{report.challenger_version} on {report.count:,} decisions;"
        f" agreement {_share(report.agreement)}",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(title="outcomes: champion (rows) by challenger (columns)")
    table.add_column("champion")
    for label in report.outcomes:
        table.add_column(label, justify="right")
    for label, row in zip(report.outcomes, report.table, strict=True):
        table.add_row(label, *(f"{count:,}" for count in row))
    out.print(table)
    out.print(
        f"score PSI {_number(report.psi)}; mean PD champion {_share(report.champion_mean_pd)},"
        f" challenger {_share(report.challenger_mean_pd)}",
        highlight=False,
    )
    if report.auc_note is not None:
        out.print(
            f"AUC: n/a ({report.auc_note}; {report.with_outcomes:,} outcomes,"
            f" {report.defaults:,} defaults)",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print(
            f"AUC on {report.with_outcomes:,} outcomes ({report.defaults:,} defaults):"
            f" champion {_number(report.champion_auc)},"
            f" challenger {_number(report.challenger_auc)}",
            highlight=False,
        )


@app.command("mitigate")
def governance_mitigate(
    model: ModelRefOption,
    data: DataOption,
    target: Annotated[str, typer.Option(help="The outcome column.")],
    protected: Annotated[
        list[str],
        typer.Option(
            metavar="COL[:CUTS]",
            help="Protected column (repeat): used only as the constraint's groups, never as"
            " a model input. COL:25,40 bands a numeric column at those cut points.",
        ),
    ],
    constraint: Annotated[
        str,
        typer.Option(metavar="demographic_parity|equalized_odds", help="The fairness constraint."),
    ] = "demographic_parity",
    bad: Annotated[
        str | None,
        typer.Option(help="Target value meaning bad (default: inferred, or the model's)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="Register the candidate under this model name (default: the model's)."),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the held-out split.")] = 42,
    plot: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Write the trade-off chart to this HTML file."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Train a fairness-constrained candidate and register it with its trade-off table.

    fairlearn's ExponentiatedGradient trains it on the model's features without the
    protected columns; AUC and disparity before and after are measured on 30% of the
    rows held out.
    """
    from finai import credit, governance

    with platform_session() as (platform, session):
        frame = credit.load_table(data)
        result = governance.mitigate(
            session,
            platform.audit_key,
            platform.artifact_dir,
            frame,
            model_ref=model,
            target=target,
            protected=protected,
            constraint=constraint,
            bad=bad,
            name=name,
            seed=seed,
            actor=CLI_ACTOR,
        )
        session.commit()
    if plot is not None:
        result.figure().write_html(plot, include_plotlyjs=True, full_html=True)
    if as_json:
        out.print_json(json.dumps(result.to_dict(), allow_nan=False))
        return
    _print_mitigation(result)


def _print_mitigation(mitigation: Mitigation) -> None:
    candidate = f"{mitigation.candidate.name}:{mitigation.candidate.version}"
    result = mitigation.tradeoff
    out.print(
        f"registered [bold]{candidate}[/] (candidate): {result.constraint} on"
        f" {result.constrained_on}, against {result.reference}; approved = PD <"
        f" {result.cutoff:g}; measured on {result.holdout_rows:,} held-out rows",
        highlight=False,
        soft_wrap=True,
    )
    groups = list(result.rows[0].disparity)
    table = Table(title="trade-off on held-out rows")
    table.add_column("model")
    table.add_column("AUC", justify="right")
    table.add_column("approved", justify="right")
    for group in groups:
        table.add_column(f"{group}\nrate diff", justify="right")
        table.add_column(f"{group}\nratio", justify="right")
        table.add_column(f"{group}\nEO diff", justify="right")
    for row in result.rows:
        cells = [row.model if row.ref is None else f"{row.model} {row.ref}"]
        cells += [f"{row.auc:.3f}", f"{row.approval_rate:.1%}"]
        for group in groups:
            d = row.disparity[group]
            cells += [
                _number(d.approval_rate_difference),
                _number(d.approval_rate_ratio),
                _number(d.equalized_odds_difference),
            ]
        table.add_row(*cells)
    out.print(table)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
