"""``finai credit``: train, evaluate, score and explain credit models."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from finai.cli.common import (
    CLI_ACTOR,
    DataOption,
    ModelRefOption,
    err,
    fail,
    metric,
    out,
    platform_session,
    progress_bar,
)

app = typer.Typer(help="Credit decisioning: train, evaluate, score, explain.", no_args_is_help=True)


class Algorithm(StrEnum):
    """The ``--model`` choices of ``finai credit train``."""

    SCORECARD = "scorecard"
    GBM = "gbm"
    AUTO = "auto"


SpecOption = Annotated[
    Path | None,
    typer.Option(
        "--spec",
        help="YAML dataset spec; flags given as well replace its values.",
        dir_okay=False,
    ),
]


@app.command("train")
def credit_train(
    data: DataOption,
    name: Annotated[str, typer.Option(help="Register the model under this name.")],
    target: Annotated[
        str | None, typer.Option(help="The outcome column (required unless --spec names it).")
    ] = None,
    spec_path: SpecOption = None,
    bad: Annotated[str | None, typer.Option(help="Target value meaning bad.")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="Row id column.")] = None,
    drop: Annotated[
        list[str] | None, typer.Option(metavar="COL", help="Column to ignore (repeat).")
    ] = None,
    protected: Annotated[
        list[str] | None,
        typer.Option(metavar="COL", help="Column kept out of the model (repeat)."),
    ] = None,
    categorical: Annotated[
        list[str] | None,
        typer.Option(
            metavar="COL",
            help="Treat the column as categorical (repeat). With --numeric too, the"
            " features are exactly the columns named.",
        ),
    ] = None,
    numeric: Annotated[
        list[str] | None, typer.Option(metavar="COL", help="Treat the column as numeric (repeat).")
    ] = None,
    monotone: Annotated[
        list[str] | None,
        typer.Option(
            metavar="COL=+1|-1",
            help="Numeric feature the PD rises (+1, increasing) or falls (-1, decreasing)"
            " with (repeat).",
        ),
    ] = None,
    model: Annotated[Algorithm, typer.Option(help="scorecard, gbm or auto.")] = Algorithm.AUTO,
    seed: Annotated[int, typer.Option(min=0)] = 42,
    folds: Annotated[int, typer.Option(min=2, max=20)] = 5,
) -> None:
    """Train on past loans with cross-validation, register the model, print its metrics.

    The dataset spec comes from --spec, from the flags, or both: a flag given replaces
    that key of the YAML spec (a repeated flag replaces the whole list).
    """
    from finai import credit, governance

    if target is None and spec_path is None:
        raise typer.BadParameter(
            "missing; name the outcome column with --target COL or in --spec",
            param_hint="'--target'",
        )
    overrides: dict[str, object] = {
        "target": target,
        "bad": bad,
        "id": id_column,
        "drop": drop or None,
        "protected": protected or None,
        "categorical": categorical or None,
        "numeric": numeric or None,
        "monotone": monotone or None,
    }
    with platform_session() as (platform, session):
        spec = (
            credit.DatasetSpec.from_yaml(spec_path, overrides)
            if spec_path is not None
            else credit.DatasetSpec.from_dict(overrides)
        )
        frame = credit.load_table(data)
        with progress_bar("training") as update:
            result = credit.train(
                frame,
                spec,
                algorithm=model.value,
                seed=seed,
                folds=folds,
                progress=update,
            )
        version = credit.register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=name,
            result=result,
            data=frame,
            actor=CLI_ACTOR,
        )
        governance.write_cards(
            session, name=version.name, actor=CLI_ACTOR, versions=[version.version]
        )
        session.commit()
    table = Table("algorithm", "AUC", "Gini", "KS", "Brier", "log loss", "fit s", title="CV")
    for row in result.cv:
        table.add_row(
            row["algorithm"],
            *(f"{row[k]:.4f}" for k in ("auc", "gini", "ks", "brier", "log_loss")),
            f"{row['fit_seconds']:.2f}",
        )
    out.print(table)
    out.print(
        f"registered {version.name}:{version.version} ({result.model.algorithm});"
        f" {result.chosen_because}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("evaluate")
def credit_evaluate(
    model: ModelRefOption,
    data: DataOption,
    target: Annotated[str, typer.Option(help="The outcome column.")],
    bad: Annotated[str | None, typer.Option(help="Target value meaning bad.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure a registered model on a labelled table (AUC, Gini, KS, Brier, PSI)."""
    from finai import credit

    with platform_session() as (platform, session):
        info, loaded = credit.load_model(session, platform.artifact_dir, model)
        report = credit.evaluate_model(loaded, credit.load_table(data), target=target, bad=bad)
    report["model"] = f"{info.name}:{info.version}"
    if as_json:
        out.print_json(json.dumps(report))
        return
    table = Table("metric", "value", title=f"{info.name}:{info.version}")
    for key in ("n", "bad_rate", "auc", "gini", "ks", "brier", "log_loss", "psi"):
        value = report.get(key)
        table.add_row(key, metric(value))
    out.print(table)


@app.command("score")
def credit_score(
    model: ModelRefOption,
    data: DataOption,
    out_path: Annotated[Path, typer.Option("--out", help="Output CSV or Parquet.")],
    chunk_rows: Annotated[int, typer.Option(min=1000)] = 100_000,
) -> None:
    """Score a table in chunks: PD, score, outcome, limit and reasons per row (not stored)."""
    from finai import credit

    with platform_session() as (platform, session):
        info, loaded = credit.load_model(session, platform.artifact_dir, model)
        policy = credit.current_policy(session)
        with progress_bar("scoring") as update:
            summary = credit.score_file(
                loaded,
                policy,
                data,
                out_path,
                model_name=info.name,
                model_version=info.version,
                chunk_rows=chunk_rows,
                progress=update,
            )
    err.print(
        f"scored {summary.rows} rows with {info.name}:{info.version} and policy"
        f" v{policy.version}: "
        + ", ".join(f"{k} {v}" for k, v in summary.outcomes.items())
        + f"; wrote {out_path}",
        soft_wrap=True,
    )


@app.command("explain")
def credit_explain(
    model: ModelRefOption,
    data: DataOption,
    row: Annotated[int, typer.Option(min=0, help="Row number, 0-based.")],
) -> None:
    """Explain one row: PD, score, outcome, limit, reasons and each feature's part."""
    from finai import credit

    with platform_session() as (platform, session):
        info, loaded = credit.load_model(session, platform.artifact_dir, model)
        policy = credit.current_policy(session)
        frame = credit.load_table(data)
        if row >= len(frame):
            raise fail(f"--row {row} is past the end of the table ({len(frame)} rows)")
        one = frame.iloc[[row]].reset_index(drop=True)
        decision = credit.decide(
            one,
            loaded,
            policy.policy,
            model_name=info.name,
            model_version=info.version,
            policy_version=policy.version,
        )[0]
        parts = credit.explain_row(loaded, one)
    out.print(
        f"[bold]{decision.outcome.value}[/]  PD {decision.pd:.4f}  score {decision.score:.1f}"
        f"  limit {decision.limit if decision.limit is not None else '-'} {decision.currency}"
        f"  ({info.name}:{info.version}, policy v{policy.version})",
        soft_wrap=True,
    )
    for reason in decision.reasons:
        out.print(f"  - {reason.text}", highlight=False, soft_wrap=True)
    table = Table("feature", "value", parts.unit)
    for feature, value, contribution in parts.rows:
        table.add_row(feature, value, f"{contribution:+.3f}")
    out.print(table)


@app.command("outcomes")
def credit_outcomes(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet table: decision_id, defaulted (true/false, yes/no, 1/0),"
            " optional observed_at (times without a zone are UTC; empty means now).",
            dir_okay=False,
        ),
    ],
) -> None:
    """Record whether decided loans defaulted; all rows are stored or none.

    The newest report of a decision wins: one that agrees with the stored outcome
    changes nothing; a different one replaces it unless observed before it (stale).
    Each 10,000 rows are one audited batch, all in one transaction.
    """
    from finai import credit

    with platform_session() as (platform, session):
        reports = credit.outcomes_from_frame(credit.load_table(path))
        done = [
            credit.record_outcomes(
                session,
                platform.audit_key,
                reports[start : start + credit.MAX_OUTCOMES],
                actor=CLI_ACTOR,
            )
            for start in range(0, len(reports), credit.MAX_OUTCOMES)
        ]
        session.commit()
    totals = {
        "recorded": sum(c.recorded for c in done),
        "updated": sum(c.updated for c in done),
        "unchanged": sum(c.unchanged for c in done),
        "stale": sum(c.stale for c in done),
    }
    err.print(
        f"{len(reports):,} outcomes from {path}: "
        + ", ".join(f"{key} {value:,}" for key, value in totals.items()),
        highlight=False,
        soft_wrap=True,
    )
