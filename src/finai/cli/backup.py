"""``finai backup``: write the database and the artifacts to one encrypted file, and restore it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from finai.cli.common import err, fail, platform_session, print_json

app = typer.Typer(help="Encrypted backups of the database and the model artifacts.")

BACKUP_INFO = b"finai-backup"


@app.command("create")
def create(
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="The backup file to write.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Back up every table (one snapshot) and every model artifact, encrypted.

    The file is sealed with a key derived from FINAI_SECRET_KEY: keep that secret to
    restore. The key file of personal data keys is not in the backup; keep it apart.
    """
    from finai.backup import create_backup
    from finai.security.keyring import derive_key

    with platform_session() as (platform, _session):
        key = derive_key(platform.audit_key, BACKUP_INFO)
        manifest = create_backup(platform.engine, platform.artifact_dir, key, out)
    if as_json:
        print_json(manifest.to_dict())
        return
    err.print(
        f"Backed up {manifest.rows} rows in {len(manifest.tables)} tables and"
        f" {len(manifest.artifacts)} artifacts to {out}."
    )


@app.command("restore")
def restore(
    source: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A file from 'finai backup create'.")
    ],
) -> None:
    """Restore a backup into an empty database, then verify the audit chain.

    Run ``finai db upgrade`` first on a new database. Nothing is written unless the whole
    file decrypts and every hash matches; the rows go in in one transaction.
    """
    from finai.backup import restore_backup
    from finai.security import audit
    from finai.security.keyring import derive_key
    from finai.store import upgrade

    with platform_session() as (platform, session):
        upgrade(platform.settings.db_url)
        key = derive_key(platform.audit_key, BACKUP_INFO)
        manifest = restore_backup(platform.engine, platform.artifact_dir, key, source)
        result = audit.verify(session, platform.audit_key)
    if not result.ok:
        raise fail(f"restored, but the audit chain does not verify: {result.reason}")
    err.print(
        f"Restored {manifest.rows} rows and {len(manifest.artifacts)} artifacts from a backup"
        f" made {manifest.created_at}; the audit chain verifies ({result.count} entries)."
    )
