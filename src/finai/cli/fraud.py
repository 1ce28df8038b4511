"""``finai fraud``: simulate transactions, train and evaluate fraud models."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from finai.cli.common import (
    CLI_ACTOR,
    ModelRefOption,
    err,
    metric,
    out,
    platform_session,
    progress_bar,
    user_errors,
)

app = typer.Typer(help="Fraud detection: simulate, train, evaluate.", no_args_is_help=True)


class FraudAlgorithm(StrEnum):
    """The ``--model`` choices of ``finai fraud train``."""

    LIGHTGBM = "lightgbm"
    LOGISTIC = "logistic"
    ISOLATION_FOREST = "isolation_forest"


class ThresholdMethod(StrEnum):
    """The ``--thresholds`` choices of ``finai fraud train``."""

    BUDGET = "budget"
    COST = "cost"


TransactionsOption = Annotated[
    Path,
    typer.Option("--transactions", help="CSV or Parquet table of transactions.", dir_okay=False),
]
ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        metavar="NAME=COLUMN,...",
        help="Source columns of the canonical ones, e.g. transaction_id=TX_ID,"
        "timestamp=TX_DATETIME,customer_id=CUSTOMER_ID,terminal_id=TERMINAL_ID,"
        "amount=TX_AMOUNT,is_fraud=TX_FRAUD.",
    ),
]


def _read_transactions(path: Path, columns: str | None) -> Any:
    from finai.fraud.transactions import load_transactions, parse_columns

    return load_transactions(path, parse_columns(columns) if columns is not None else None)


@app.command("simulate")
def fraud_simulate(
    out_path: Annotated[
        Path, typer.Option("--out", help="Output .csv or .parquet file.", dir_okay=False)
    ],
    days: Annotated[int, typer.Option(min=1, help="Days simulated.")] = 183,
    customers: Annotated[int, typer.Option(min=1, help="Customers (cards).")] = 5000,
    terminals: Annotated[int, typer.Option(min=1, help="Terminals.")] = 10000,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    start: Annotated[str, typer.Option(help="First day, UTC (ISO date).")] = "2026-04-01",
) -> None:
    """Simulate card transactions with labelled fraud (Fraud Detection Handbook style)."""
    from finai.fraud.pipeline import write_transactions
    from finai.fraud.simulator import simulate

    with user_errors(), progress_bar("simulating") as update:
        frame = simulate(
            customers=customers, terminals=terminals, days=days, seed=seed, start=start
        )
        update(0.5, f"writing {len(frame):,} transactions")
        write_transactions(frame, out_path)
        update(1.0, "done")
    out.print(
        f"wrote {len(frame):,} transactions, fraud rate {frame['is_fraud'].mean():.2%},"
        f" to {out_path}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("train")
def fraud_train(
    transactions: TransactionsOption,
    train_start: Annotated[str, typer.Option(help="First day of the train window (UTC).")],
    train_end: Annotated[str, typer.Option(help="Last day of the train window (UTC).")],
    name: Annotated[str, typer.Option(help="Register the model under this name.")],
    delay_days: Annotated[
        int, typer.Option(min=0, help="Label delay: the features' delay and the validation gap.")
    ] = 7,
    columns: ColumnsOption = None,
    model: Annotated[
        FraudAlgorithm, typer.Option(help="lightgbm, logistic or isolation_forest (no labels).")
    ] = FraudAlgorithm.LIGHTGBM,
    validation_days: Annotated[
        int | None,
        typer.Option(min=1, help="Days held out at the end of the train window."),
    ] = None,
    thresholds: Annotated[
        ThresholdMethod,
        typer.Option(help="budget (at most --alerts-per-day) or cost (most net savings)."),
    ] = ThresholdMethod.BUDGET,
    alerts_per_day: Annotated[
        float, typer.Option(min=0.001, help="Alert budget: reviews and blocks a day.")
    ] = 100.0,
    review_cost: Annotated[float, typer.Option(min=0, help="Cost of one alert.")] = 5.0,
    seed: Annotated[int, typer.Option(min=0)] = 42,
) -> None:
    """Train on a train window, validate on its last days, register with thresholds.

    Each transaction's features come from the whole history before it. The last days
    of the train window, after a gap of --delay-days, choose the thresholds and give
    the validation metrics stored with the version.
    """
    from finai.fraud.pipeline import register_model
    from finai.fraud.training import train

    with platform_session() as (platform, session):
        with progress_bar("training") as update:
            update(0.0, "reading transactions")
            frame = _read_transactions(transactions, columns)
            result = train(
                frame,
                train_start=train_start,
                train_end=train_end,
                delay_days=delay_days,
                algorithm=model.value,
                validation_days=validation_days,
                threshold_method=thresholds.value,
                alerts_per_day=alerts_per_day,
                review_cost=review_cost,
                seed=seed,
                progress=update,
            )
        version = register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=name,
            result=result,
            actor=CLI_ACTOR,
        )
        session.commit()
    split = result.split
    table = Table("metric", "value", title=f"validation {split.validation}")
    for key, value in result.metrics.to_dict().items():
        table.add_row(key, metric(value) if value is not None else "-")
    table.add_row("fit_seconds", f"{result.fit_seconds:.2f}")
    out.print(table)
    cut = result.model.thresholds
    out.print(
        f"registered {version.name}:{version.version} ({result.model.algorithm}); fit on"
        f" {split.fit}, validated on {split.validation}; review at score >= {cut.review:.4g},"
        f" block at >= {cut.block:.4g}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("evaluate")
def fraud_evaluate(
    model: ModelRefOption,
    transactions: TransactionsOption,
    start: Annotated[str, typer.Option(help="First day of the test period (UTC).")],
    end: Annotated[str, typer.Option(help="Last day of the test period (UTC).")],
    columns: ColumnsOption = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Cards checked a day.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure a registered model on a later period; earlier history feeds features only."""
    from finai.fraud.evaluation import evaluate_model
    from finai.fraud.pipeline import load_model
    from finai.fraud.windows import Window

    with platform_session() as (platform, session):
        info, loaded = load_model(session, platform.artifact_dir, model)
        period = Window.parse(start, end)
        with progress_bar("evaluating") as update:
            update(0.0, "reading transactions")
            frame = _read_transactions(transactions, columns)
            metrics = evaluate_model(loaded, frame, start=start, end=end, k=k, progress=update)
    if period.start <= loaded.split.train.end:
        err.print(
            f"[yellow]warning:[/] the period starts before the end of the train window"
            f" ({loaded.split.train}); the metrics are optimistic",
            highlight=False,
            soft_wrap=True,
        )
    report: dict[str, Any] = {
        "model": f"{info.name}:{info.version}",
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        **metrics.to_dict(),
    }
    if as_json:
        out.print_json(json.dumps(report))
        return
    table = Table("metric", "value", title=f"{report['model']} on {period}")
    for key, value in report.items():
        if key not in ("model", "start", "end"):
            table.add_row(key, metric(value) if value is not None else "-")
    out.print(table)
