"""The ``finai`` command line: one sub-app per area, a thin adapter over the core.

Data goes to stdout, messages to stderr. Exit 0 on success, 1 on a FinAI error (one
red line, no traceback), 2 on a usage error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from finai import registry, security
from finai.bootstrap import initialise
from finai.context import Platform
from finai.exceptions import FinAIError
from finai.security import audit
from finai.security.keys import expiry
from finai.store import upgrade

app = typer.Typer(
    help="FinAI: AI decisions for lenders, with models, keys and an audit chain.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys and roles.", no_args_is_help=True)
models_app = typer.Typer(help="The model registry.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit chain.", no_args_is_help=True)
credit_app = typer.Typer(
    help="Credit decisioning: train, evaluate, score, explain.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")
app.add_typer(audit_app, name="audit")
app.add_typer(credit_app, name="credit")

out = Console()
err = Console(stderr=True)

CLI_ACTOR = "cli"


class Algorithm(StrEnum):
    """The ``--model`` choices of ``finai credit train``."""

    SCORECARD = "scorecard"
    GBM = "gbm"
    AUTO = "auto"


def fail(message: str) -> typer.Exit:
    """Print one red line on stderr and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@contextmanager
def platform_session() -> Iterator[tuple[Platform, Session]]:
    """Yield the platform and a session; FinAI errors become one line and exit 1."""
    platform: Platform | None = None
    try:
        platform = Platform.from_env()
        with platform.sessions() as session:
            yield platform, session
    except FinAIError as exc:
        raise fail(str(exc)) from None
    except PydanticValidationError as exc:
        raise fail(f"invalid settings: {exc.errors()[0]['msg']}") from None
    except OperationalError as exc:
        raise fail(
            f"database unavailable or not migrated ({exc.orig.__class__.__name__});"
            " run 'finai db upgrade'"
        ) from None
    finally:
        if platform is not None:
            platform.close()


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


@app.command()
def init(
    demo: Annotated[
        bool, typer.Option(help="Load the demo policy and train the demo credit model.")
    ] = True,
) -> None:
    """Create the home folder, migrate the database, create the first admin key, load demo."""
    with platform_session() as (platform, _session):
        result = initialise(platform)
        err.print(f"database ready: {result.database_url}")
        if result.admin_token is None:
            err.print("an admin key exists already; none created")
        else:
            err.print("[bold]first admin key (shown once, store it now):[/]")
            out.print(result.admin_token, highlight=False, soft_wrap=True)
        if demo:
            from finai.demo import DEMO_MODEL, load_demo

            with progress_bar("demo credit model") as update:
                loaded = load_demo(platform, progress=update)
            if loaded.model_version is not None:
                err.print(f"demo model {DEMO_MODEL}:{loaded.model_version} trained and promoted")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (FINAI_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (FINAI_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the API and dashboard with uvicorn."""
    import uvicorn

    from finai.logs import configure

    with platform_session() as (platform, _session):
        settings = platform.settings
    configure(settings.log_level)
    err.print(f"serving on http://{host or settings.host}:{port or settings.port}")
    uvicorn.run(
        "finai.api:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    with platform_session() as (platform, _session):
        upgrade(platform.settings.db_url)
    err.print("database is at the newest migration")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    role: Annotated[security.Role, typer.Option(help="The key's role.")],
    expires_in_days: Annotated[
        float | None, typer.Option(min=0.01, max=3650, help="Expire after this many days.")
    ] = None,
) -> None:
    """Create a key and print its token once."""
    expires = expiry(expires_in_days)
    with platform_session() as (platform, session):
        key, token = security.create_key(
            session, platform.audit_key, name=name, role=role, actor=CLI_ACTOR, expires_at=expires
        )
        session.commit()
    err.print(f"created key {key.id} ({key.role.value}); the token is shown once:")
    out.print(token, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List keys (never their secrets)."""
    with platform_session() as (_platform, session):
        keys = security.list_keys(session)
    if as_json:
        _print_json([{**vars(k), "role": k.role.value, "active": k.active} for k in keys])
        return
    table = Table("id", "name", "role", "active", "created", "expires", "last used")
    for k in keys:
        table.add_row(
            k.id,
            k.name,
            k.role.value,
            "yes" if k.active else "no",
            _fmt_time(k.created_at),
            _fmt_time(k.expires_at),
            _fmt_time(k.last_used_at),
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key; it stops working at once."""
    with platform_session() as (platform, session):
        security.revoke_key(session, platform.audit_key, key_id=key_id, actor=CLI_ACTOR)
        session.commit()
    err.print(f"revoked key {key_id}")


@models_app.command("list")
def models_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List registered models."""
    with platform_session() as (_platform, session):
        models = registry.list_models(session)
    if as_json:
        _print_json([vars(m) for m in models])
        return
    table = Table("name", "versions", "latest", "champion")
    for m in models:
        table.add_row(m.name, str(m.versions), str(m.latest), str(m.champion or "-"))
    out.print(table)


def _parse_ref(ref: str) -> tuple[str, int | None]:
    name, _, version = ref.partition(":")
    if not version:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise fail(f"version must be a positive whole number, got {version!r}")
    return name, int(version)


@models_app.command("show")
def models_show(
    ref: Annotated[str, typer.Argument(help="NAME or NAME:VERSION (default: the champion).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a model's versions, or one version's lineage and metrics."""
    name, version = _parse_ref(ref)
    with platform_session() as (_platform, session):
        versions = (
            [registry.get_version(session, name, version)]
            if version
            else registry.list_versions(session, name)
        )
    if as_json:
        _print_json([vars(v) for v in versions])
        return
    table = Table()
    for column in ("version", "stage", "sha256", "created"):
        table.add_column(column, no_wrap=True)
    table.add_column("kind")
    table.add_column("metrics", overflow="fold")
    for v in versions:
        metrics = ", ".join(f"{k}={_metric(val)}" for k, val in v.metrics.items())
        table.add_row(
            str(v.version),
            v.stage.value,
            v.sha256[:12],
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            v.kind,
            metrics or "-",
        )
    out.print(table)


def _metric(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _registry_change(action: Callable[[Session, bytes], registry.ModelVersion]) -> None:
    with platform_session() as (platform, session):
        result = action(session, platform.audit_key)
        session.commit()
    err.print(f"{result.name}:{result.version} is now the champion")


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument(min=1)],
) -> None:
    """Make a version the champion (the previous one is retired)."""
    _registry_change(
        lambda s, k: registry.promote(s, k, name=name, version=version, actor=CLI_ACTOR)
    )


@models_app.command("rollback")
def models_rollback(name: Annotated[str, typer.Argument()]) -> None:
    """Retire the champion and reinstate the previous one."""
    _registry_change(lambda s, k: registry.rollback(s, k, name=name, actor=CLI_ACTOR))


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole chain; exit 1 naming the first bad entry if it was tampered with."""
    with platform_session() as (platform, session):
        result = audit.verify(session, platform.audit_key)
    if not result.ok:
        raise fail(
            f"audit chain broken at entry {result.first_bad_seq}: {result.reason}"
            f" ({result.count} entries intact before it)"
        )
    out.print(f"audit chain intact: {result.count} entries", highlight=False)


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the newest audit entries."""
    with platform_session() as (_platform, session):
        entries = audit.entries(session, limit=limit)
    if as_json:
        _print_json([vars(e) for e in entries])
        return
    table = Table("seq", "time", "actor", "action", "object")
    for e in entries:
        table.add_row(
            str(e.seq), _fmt_time(e.created_at), e.actor, e.action, f"{e.object_type}:{e.object_id}"
        )
    out.print(table)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[float, str], None]]:
    """Show a Rich progress bar on stderr; yields ``update(fraction, message)``."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(description, total=1.0)

        def update(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, description=f"{description}: {message}")

        yield update


DataOption = Annotated[Path, typer.Option("--data", help="CSV or Parquet table.", dir_okay=False)]
ModelRefOption = Annotated[
    str, typer.Option("--model", help="NAME (champion, else newest) or NAME:VERSION.")
]


@credit_app.command("train")
def credit_train(
    data: DataOption,
    target: Annotated[str, typer.Option(help="The outcome column.")],
    name: Annotated[str, typer.Option(help="Register the model under this name.")],
    bad: Annotated[str | None, typer.Option(help="Target value meaning bad.")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="Row id column.")] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Column to ignore (repeat).")] = None,
    protected: Annotated[
        list[str] | None, typer.Option(help="Column kept out of the model (repeat).")
    ] = None,
    model: Annotated[Algorithm, typer.Option(help="scorecard, gbm or auto.")] = Algorithm.AUTO,
    seed: Annotated[int, typer.Option(min=0)] = 42,
    folds: Annotated[int, typer.Option(min=2, max=20)] = 5,
) -> None:
    """Train on past loans with cross-validation, register the model, print its metrics."""
    from finai import credit

    with platform_session() as (platform, session):
        spec = credit.DatasetSpec(
            target=target,
            bad=bad,
            id=id_column,
            drop=tuple(drop or ()),
            protected=tuple(protected or ()),
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


@credit_app.command("evaluate")
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
        table.add_row(key, _metric(value))
    out.print(table)


@credit_app.command("score")
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


@credit_app.command("explain")
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


def main() -> None:
    """Entry point of the ``finai`` script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
