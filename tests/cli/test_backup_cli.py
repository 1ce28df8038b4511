from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from finai.cli import app
from finai.context import Platform
from tests.backup.test_archive import fill
from tests.conftest import wipe


def test_cli_backup_and_restore(cli: CliRunner, platform: Platform, tmp_path: Path) -> None:
    fill(platform)
    out = tmp_path / "cli.backup"
    made = cli.invoke(app, ["backup", "create", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert "Backed up" in made.output
    busy = cli.invoke(app, ["backup", "restore", str(out)])
    assert busy.exit_code == 1 and "already holds data" in busy.output
    wipe(platform)
    done = cli.invoke(app, ["backup", "restore", str(out)])
    assert done.exit_code == 0, done.output
    assert "the audit chain verifies" in done.output
