"""``finai fraud``: simulate, train, evaluate, consume a stream, export the labelled set."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from finai.cli.common import (
    CLI_ACTOR,
    ModelRefOption,
    err,
    fail,
    metric,
    out,
    platform_session,
    progress_bar,
    user_errors,
)

if TYPE_CHECKING:
    from finai.fraud.stream import ConsumeStats

app = typer.Typer(
    help="Fraud detection: simulate, train, evaluate, consume a stream, export labels.",
    no_args_is_help=True,
)


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


SpecOption = Annotated[
    Path | None,
    typer.Option(
        "--spec",
        help="YAML dataset spec with a 'columns' mapping; --columns pairs replace its own.",
        dir_okay=False,
    ),
]


def _read_transactions(path: Path, columns: str | None, spec: Path | None) -> Any:
    from finai.fraud.transactions import columns_from_spec, load_transactions, parse_columns

    mapping = parse_columns(columns) if columns is not None else None
    if spec is not None:
        mapping = columns_from_spec(spec, mapping)
    return load_transactions(path, mapping)


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
    spec: SpecOption = None,
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
    from finai import governance
    from finai.fraud.pipeline import register_model
    from finai.fraud.training import train

    with platform_session() as (platform, session):
        with progress_bar("training") as update:
            update(0.0, "reading transactions")
            frame = _read_transactions(transactions, columns, spec)
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
        governance.write_cards(
            session, name=version.name, actor=CLI_ACTOR, versions=[version.version]
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
    spec: SpecOption = None,
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
            frame = _read_transactions(transactions, columns, spec)
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


@app.command("export")
def fraud_export(
    out_path: Annotated[
        Path, typer.Option("--out", help="Output .csv or .parquet file.", dir_okay=False)
    ],
    genuine_after: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Count an unlabelled transaction older than this many days (before the newest"
            " one) as genuine: no chargeback came within the label delay.",
        ),
    ] = None,
) -> None:
    """Write every stored score's transaction with its latest label: the next training set.

    Labels come from chargebacks, analyst verdicts and resolved alerts; a transaction
    without one has an empty ``is_fraud`` (not known yet), or 0 with --genuine-after
    once it is older than that many days, so the file can be trained on directly.
    """
    from finai.fraud.pipeline import write_transactions
    from finai.fraud.records import labelled_transactions

    with platform_session() as (_platform, session):
        settle = None if genuine_after is None else timedelta(days=genuine_after)
        frame = labelled_transactions(session, genuine_after=settle)
        write_transactions(frame, out_path)
    known = int(frame["is_fraud"].notna().sum())
    err.print(
        f"wrote {len(frame):,} transactions to {out_path} ({known:,} labelled)",
        highlight=False,
        soft_wrap=True,
    )


@contextmanager
def _stop_on_interrupt(stop: threading.Event) -> Iterator[None]:
    """Turn the first Ctrl-C into ``stop`` (finish the batch); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _counts(stats: ConsumeStats, stopping: bool) -> str:
    line = (
        f"consumed {stats.messages:,} · scored {stats.scored:,} · alerts {stats.alerts:,}"
        f" · dead letters {stats.dead:,} · replayed {stats.replayed:,}"
        f" · {stats.rate:,.0f} tx/s"
    )
    if stats.retries:
        line += f" · [yellow]{stats.retries:,} retries (state or Redis unreachable)[/]"
    return line + (" · stopping after this batch" if stopping else "")


@app.command("consume")
def fraud_consume(
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis-url",
            help="Redis of the streams and the fraud state; default FINAI_REDIS_URL.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="NAME (champion, else newest) or NAME:VERSION; default FINAI_FRAUD_MODEL.",
            show_default=False,
        ),
    ] = None,
    stream: Annotated[
        str | None,
        typer.Option(help="Input stream; default finai:fraud:transactions.", show_default=False),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(help="Output stream; default finai:fraud:scores.", show_default=False),
    ] = None,
    dead: Annotated[
        str | None,
        typer.Option(help="Dead-letter stream; default finai:fraud:dead.", show_default=False),
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="Consumer group; default finai-fraud.", show_default=False)
    ] = None,
    consumer: Annotated[
        str | None,
        typer.Option(
            help="This consumer's name in the group; reuse it after a restart to resume its"
            " pending messages; default HOST-PID.",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Messages per batch.")] = 200,
    max_messages: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many messages.", show_default=False)
    ] = None,
    idle_exit: Annotated[
        float | None,
        typer.Option(
            min=0, help="Stop when no message came for this many seconds.", show_default=False
        ),
    ] = None,
) -> None:
    """Score transactions from a Redis Stream: results to a stream, alerts to the database.

    At least once and idempotent per transaction id: a restarted consumer resumes its
    pending messages, messages of a consumer gone for a minute are taken over, and a
    repeated id gets its first answer again without counting twice. Malformed messages
    go to the dead-letter stream with the reason. Ctrl-C stops after the current batch.
    """
    import redis
    from rich.live import Live

    from finai.fraud.pipeline import Scorers
    from finai.fraud.state_redis import RedisStore
    from finai.fraud.stream import Consumer, ConsumeStats, StreamConfig

    with platform_session() as (platform, session):
        url = redis_url or platform.settings.redis_url
        if not url:
            raise fail("no Redis to read from: pass --redis-url or set FINAI_REDIS_URL")
        ref = model or platform.settings.fraud_model
        base = StreamConfig(batch=batch)
        config = StreamConfig(
            stream=base.stream if stream is None else stream,
            group=base.group if group is None else group,
            consumer=base.consumer if consumer is None else consumer,
            output=base.output if output is None else output,
            dead=base.dead if dead is None else dead,
            batch=batch,
        )
        try:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=5, socket_timeout=config.block_ms / 1000 + 30
            )
            # the stream has no latency budget: wait for the state (5 s) rather than retry
            state = RedisStore(
                redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5),
                prefix=platform.settings.redis_prefix,
            )
        except ValueError as exc:
            raise fail(f"invalid Redis URL: {exc}") from None
        scorers = Scorers(state, platform.artifact_dir)
        scorers.get(session, ref)  # an unknown model fails here, before anything is read
        session.rollback()  # hold no read transaction open while consuming
        worker = Consumer(
            client, lambda s: scorers.get(s, ref), platform.sessions, platform.audit_key, config
        )
        stop = threading.Event()
        try:
            client.ping()
            with (
                _stop_on_interrupt(stop),
                Live(_counts(ConsumeStats(), False), console=err, transient=True) as live,
            ):
                stats = worker.run(
                    stop,
                    max_messages=max_messages,
                    idle_exit=idle_exit,
                    progress=lambda s: live.update(_counts(s, stop.is_set())),
                )
        except redis.RedisError as exc:
            raise fail(f"Redis failed ({type(exc).__name__}): {exc}") from None
        finally:
            client.close()
            state.client.close()
    table = Table("consumed", "")
    for key, value in [
        ("messages", f"{stats.messages:,}"),
        ("scored", f"{stats.scored:,}"),
        ("replayed", f"{stats.replayed:,}"),
        ("alerts", f"{stats.alerts:,}"),
        ("dead letters", f"{stats.dead:,}"),
        ("retries", f"{stats.retries:,}"),
        ("seconds", f"{stats.seconds:.2f}"),
        ("tx/s", f"{stats.rate:,.0f}"),
    ]:
        table.add_row(key, value)
    out.print(table)
    out.print(
        f"from {config.stream} (group {config.group}, consumer {config.consumer}) to"
        f" {config.output}; dead letters to {config.dead}",
        highlight=False,
        soft_wrap=True,
    )
