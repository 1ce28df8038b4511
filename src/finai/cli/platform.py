"""Platform commands: set up and serve, migrations, keys, the model registry, the audit chain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from finai import registry, security
from finai.bootstrap import initialise
from finai.cli.common import (
    CLI_ACTOR,
    err,
    fail,
    fmt_time,
    metric,
    out,
    platform_session,
    print_json,
    progress_bar,
)
from finai.exceptions import PermissionDenied, ValidationError
from finai.security import Role, audit
from finai.security.keys import expiry
from finai.store import upgrade

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys and roles.", no_args_is_help=True)
models_app = typer.Typer(help="The model registry.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit chain.", no_args_is_help=True)


def init(
    demo: Annotated[
        bool, typer.Option(help="Load the demo policy and train the demo credit and fraud models.")
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
            from finai.demo import DEMO_FRAUD_MODEL, DEMO_INTENT_MODEL, DEMO_MODEL, load_demo

            with progress_bar("demo models") as update:
                loaded = load_demo(platform, progress=update)
            for name, version in (
                (DEMO_MODEL, loaded.model_version),
                (DEMO_FRAUD_MODEL, loaded.fraud_model_version),
                (DEMO_INTENT_MODEL, loaded.intent_model_version),
            ):
                if version is not None:
                    err.print(f"demo model {name}:{version} trained and promoted")
            if loaded.kb_entries:
                err.print(f"demo knowledge base: {loaded.kb_entries} entries")


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
        print_json([{**vars(k), "role": k.role.value, "active": k.active} for k in keys])
        return
    table = Table("id", "name", "role", "active", "created", "expires", "last used")
    for k in keys:
        table.add_row(
            k.id,
            k.name,
            k.role.value,
            "yes" if k.active else "no",
            fmt_time(k.created_at),
            fmt_time(k.expires_at),
            fmt_time(k.last_used_at),
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
        print_json([vars(m) for m in models])
        return
    table = Table("name", "versions", "latest", "champion")
    for m in models:
        table.add_row(m.name, str(m.versions), str(m.latest), str(m.champion or "-"))
    out.print(table)


@models_app.command("show")
def models_show(
    ref: Annotated[str, typer.Argument(help="NAME or NAME:VERSION (default: the champion).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a model's versions, or one version's lineage and metrics."""
    with platform_session() as (_platform, session):
        name, version = registry.parse_ref(ref)
        versions = (
            [registry.get_version(session, name, version)]
            if version
            else registry.list_versions(session, name)
        )
    if as_json:
        print_json([vars(v) for v in versions])
        return
    table = Table()
    for column in ("version", "stage", "sha256", "created"):
        table.add_column(column, no_wrap=True)
    table.add_column("kind")
    table.add_column("metrics", overflow="fold")
    for v in versions:
        metrics = ", ".join(f"{k}={metric(val)}" for k, val in v.metrics.items())
        table.add_row(
            str(v.version),
            v.stage.value,
            v.sha256[:12],
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            v.kind,
            metrics or "-",
        )
    out.print(table)


def _write_cards(session: Session, name: str, versions: list[int]) -> None:
    """Rewrite the model's cards after a change (governance is imported when needed)."""
    from finai import governance

    governance.write_cards(session, name=name, actor=CLI_ACTOR, versions=versions)


def _registry_change(action: Callable[[Session, bytes], registry.ModelVersion]) -> None:
    with platform_session() as (platform, session):
        result = action(session, platform.audit_key)
        _write_cards(session, result.name, [result.version])
        session.commit()
    err.print(f"{result.name}:{result.version} is now the champion")


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument(min=1)],
) -> None:
    """Make an approved version the champion (the previous one is retired)."""
    _registry_change(
        lambda s, k: registry.promote(s, k, name=name, version=version, actor=CLI_ACTOR)
    )


@models_app.command("rollback")
def models_rollback(name: Annotated[str, typer.Argument()]) -> None:
    """Retire the champion and reinstate the previous one."""
    _registry_change(lambda s, k: registry.rollback(s, k, name=name, actor=CLI_ACTOR))


def _version_ref(ref: str, command: str) -> tuple[str, int]:
    name, version = registry.parse_ref(ref)
    if version is None:
        raise ValidationError(f"{command} needs NAME:VERSION, got {ref!r}", field="model")
    return name, version


@models_app.command("approve")
def models_approve(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION of the version to approve.")],
    comment: Annotated[
        str,
        typer.Option(help="What you checked and concluded (required, at most 2000 characters)."),
    ],
    key: Annotated[
        str,
        typer.Option(
            "--key",
            envvar="FINAI_KEY",
            prompt="Your admin API key",
            hide_input=True,
            show_default=False,
            help="The reviewer's admin API key (from FINAI_KEY, else asked for).",
        ),
    ],
) -> None:
    """Approve a version as the reviewer whose admin key is given (four eyes).

    The approval is recorded under that key's id, never the command line's own
    actor: the key that registered a version may not approve it.
    """
    with platform_session() as (platform, session):
        name, version = _version_ref(ref, "approve")
        reviewer = security.authenticate(session, key)
        if reviewer.role is not Role.ADMIN:
            raise PermissionDenied("only an admin key may approve a model version", field="key")
        registry.approve(
            session,
            platform.audit_key,
            name=name,
            version=version,
            actor=reviewer.id,
            comment=comment,
        )
        _write_cards(session, name, [version])
        session.commit()
    err.print(f"{name}:{version} approved by key {reviewer.id} ({reviewer.name})")


@models_app.command("challenge")
def models_challenge(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION to challenge; NAME with --end.")],
    end: Annotated[bool, typer.Option("--end", help="End the model's challenge.")] = False,
) -> None:
    """Make a candidate the challenger (scored in shadow beside the champion), or end it."""
    with platform_session() as (platform, session):
        name, version = registry.parse_ref(ref)
        if end and version is not None:
            raise ValidationError("--end takes NAME only, without a version", field="model")
        if not end and version is None:
            raise ValidationError("challenge needs NAME:VERSION, or NAME --end", field="model")
        result = registry.challenge(
            session, platform.audit_key, name=name, version=version, actor=CLI_ACTOR
        )
        _write_cards(session, name, [] if version is None else [version])
        session.commit()
    if result is None:
        err.print(f"{name} has no challenger any more")
    else:
        err.print(f"{result.name}:{result.version} is now the challenger")


@models_app.command("card")
def models_card(
    ref: Annotated[str, typer.Argument(help="NAME or NAME:VERSION (default: the champion).")],
    html: Annotated[bool, typer.Option("--html", help="A standalone HTML page.")] = False,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of stdout.", dir_okay=False)
    ] = None,
) -> None:
    """Print a version's model card as Markdown (or HTML)."""
    from finai import governance

    with platform_session() as (_platform, session):
        name, version = registry.parse_ref(ref)
        card = governance.model_card(session, name, version)
    text = card.document() if html else card.markdown
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"wrote the card of {card.name}:{card.version} to {output}")


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
        print_json([vars(e) for e in entries])
        return
    table = Table("seq", "time", "actor", "action", "object")
    for e in entries:
        table.add_row(
            str(e.seq), fmt_time(e.created_at), e.actor, e.action, f"{e.object_type}:{e.object_id}"
        )
    out.print(table)
