"""``finai security`` (key encryption keys) and ``finai data`` (erasure of a person's data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from finai.cli.common import CLI_ACTOR, err, fail, out, platform_session, print_json

security_app = typer.Typer(help="Key encryption keys of personal data.", no_args_is_help=True)
data_app = typer.Typer(help="Personal data: erasure.", no_args_is_help=True)


@security_app.command("create-key-file")
def create_key_file_command(
    path: Annotated[
        Path, typer.Argument(dir_okay=False, help="Where to write it (must not exist).")
    ],
) -> None:
    """Write a new key file with one fresh KEK (mode 0600), for FINAI_KEK_FILE in production.

    Never overwrites: data keys wrapped under a lost KEK could not be opened again.
    """
    from finai.cli.common import user_errors
    from finai.security.keyring import create_key_file

    with user_errors():
        ring = create_key_file(path)
    err.print(f"Wrote {path} with key encryption key {ring.current()}; set FINAI_KEK_FILE to it.")


@security_app.command("rotate-key")
def rotate_key(
    drop_old: Annotated[
        bool,
        typer.Option(help="Remove the older KEKs from the key file once nothing needs them."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Add a new key encryption key and re-wrap every person's data key under it.

    Safe while the service runs: it reads the key file again when it changes, so new
    data keys go under the new KEK at once, and each data key is re-wrapped in place.
    Data itself is not re-encrypted: it stays sealed under the same data keys.
    """
    from finai.security.keyring import add_key, drop_keys

    with platform_session() as (platform, session):
        path = platform.settings.kek_path
        vault = platform.vault
        vault.keys.current()  # a missing or broken key file fails here, before any change
        new = add_key(path)
        result = vault.rotate(platform.sessions)
        left = {k: n for k, n in vault.wrapped_under(session).items() if k != new}
        dropped = drop_keys(path, keep=set(left)) if drop_old else []
    if as_json:
        print_json({"kek_id": new, "rewrapped": result.rewrapped, "dropped": dropped})
        return
    err.print(f"New key encryption key {new}: {result.rewrapped} data keys re-wrapped.")
    if dropped:
        err.print(f"Removed from the key file: {', '.join(dropped)}.")


@security_app.command("keys")
def key_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the key file's KEKs and how many live data keys each wraps."""
    from finai.security.keyring import read_key_file

    with platform_session() as (platform, session):
        counts = platform.vault.wrapped_under(session)
        ring = read_key_file(platform.settings.kek_path)
    ids, current = ring.ids, ring.current()
    rows = [{"kek_id": k, "current": k == current, "data_keys": counts.get(k, 0)} for k in ids]
    if as_json:
        print_json({"keys": rows})
        return
    table = Table("KEK", "current", "data keys")
    for row in rows:
        table.add_row(str(row["kek_id"]), "yes" if row["current"] else "", str(row["data_keys"]))
    out.print(table)


@data_app.command("erase")
def erase(
    subject: Annotated[str, typer.Option(help="The person's id, as their data was sealed.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Make a person's personal data unreadable for good (their data key is destroyed).

    Decisions and scores stay, countable and audited; the fields sealed for this person
    can no longer be opened, by anyone, from the database or any backup of it.
    """
    if not yes and not typer.confirm("Erase this person's personal data for good?"):
        raise fail("nothing erased")
    with platform_session() as (platform, session):
        erased = platform.vault.erase(
            session, platform.audit_key, subject_id=subject, actor=CLI_ACTOR
        )
        session.commit()
    err.print("Erased." if erased else "Nothing to erase: no live data is sealed for this id.")


@data_app.command("retention")
def retention(
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Override FINAI_PERSONAL_RETENTION_DAYS for this run."),
    ] = None,
) -> None:
    """Erase the personal data of applicants older than the retention period.

    Run it daily (cron, a Kubernetes CronJob). Decisions stay, countable and audited;
    each erasure is audited with the reason "retention".
    """
    from datetime import timedelta

    from finai import credit
    from finai.store import utcnow

    with platform_session() as (platform, session):
        keep = days or platform.settings.personal_retention_days
        if keep <= 0:
            raise fail("no retention period: set FINAI_PERSONAL_RETENTION_DAYS or --days")
        erased = credit.erase_expired(
            session,
            platform.vault,
            platform.audit_key,
            before=utcnow() - timedelta(days=keep),
            actor=CLI_ACTOR,
        )
        session.commit()
    err.print(f"Erased the personal data of {erased} applicants older than {keep} days.")
