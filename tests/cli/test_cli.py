from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from finai.cli import app
from finai.config import get_settings
from finai.context import Platform
from finai.security import Role
from finai.store import AuditEntryRow
from tests.factories import register_versions

TOKEN = re.compile(r"finai_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def test_init_creates_one_admin_and_prints_it_once(cli: CliRunner) -> None:
    first = cli.invoke(app, ["init", "--no-demo"])
    assert first.exit_code == 0, first.output
    assert len(TOKEN.findall(first.stdout)) == 1
    second = cli.invoke(app, ["init", "--no-demo"])
    assert second.exit_code == 0
    assert TOKEN.findall(second.output) == []
    assert "exists already" in second.stderr
    listed = cli.invoke(app, ["keys", "list", "--json"])
    assert listed.stdout.count('"role": "admin"') == 1


def test_keys_create_list_revoke(cli: CliRunner) -> None:
    cli.invoke(app, ["init", "--no-demo"])
    created = cli.invoke(app, ["keys", "create", "--name", "risk team", "--role", "analyst"])
    assert created.exit_code == 0, created.output
    token = TOKEN.search(created.stdout)
    assert token is not None
    key_id = token.group(0).split("_")[1]
    table = cli.invoke(app, ["keys", "list"]).stdout
    assert "risk team" in table
    assert "analyst" in table
    assert token.group(0) not in table
    assert cli.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    again = cli.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 1
    assert again.stderr.strip() == f"error: API key '{key_id}' is already revoked"
    assert "Traceback" not in again.output


def test_usage_errors_exit_two(cli: CliRunner) -> None:
    bad_role = cli.invoke(app, ["keys", "create", "--name", "x", "--role", "root"])
    assert bad_role.exit_code == 2
    assert "root" in bad_role.output


def test_models_list_show_promote_rollback(
    cli: CliRunner, platform: Platform, tokens: dict[Role, str]
) -> None:
    register_versions(platform, [{"auc": 0.75}, {"auc": 0.76}])
    assert "pd-model" in cli.invoke(app, ["models", "list"]).stdout
    shown = cli.invoke(app, ["models", "show", "pd-model:2"])
    assert "candidate" in shown.stdout
    as_json = cli.invoke(app, ["models", "show", "pd-model:2", "--json"])
    assert '"auc": 0.76' in as_json.stdout
    unapproved = cli.invoke(app, ["models", "promote", "pd-model", "1"])
    assert unapproved.exit_code == 1
    assert "four-eyes rule: pd-model:1 needs an approval" in unapproved.stderr
    for ref in ("pd-model:1", "pd-model:2"):
        approved = cli.invoke(
            app,
            ["models", "approve", ref, "--comment", "reviewed"],
            env={"FINAI_KEY": tokens[Role.ADMIN]},
        )
        assert approved.exit_code == 0, approved.output
    assert cli.invoke(app, ["models", "promote", "pd-model", "1"]).exit_code == 0
    promoted = cli.invoke(app, ["models", "promote", "pd-model", "2"])
    assert "pd-model:2 is now the champion" in promoted.stderr
    rolled = cli.invoke(app, ["models", "rollback", "pd-model"])
    assert "pd-model:1 is now the champion" in rolled.stderr
    listed = cli.invoke(app, ["models", "list", "--json"])
    assert '"champion": 1' in listed.stdout
    missing = cli.invoke(app, ["models", "show", "nope"])
    assert (missing.exit_code, missing.stderr.strip()) == (1, "error: no model named 'nope'")
    bad_ref = cli.invoke(app, ["models", "show", "pd-model:x"])
    assert bad_ref.exit_code == 1
    assert "positive whole number" in bad_ref.stderr


def test_audit_verify_passes_then_names_the_tampered_entry(
    cli: CliRunner, platform: Platform
) -> None:
    cli.invoke(app, ["init", "--no-demo"])
    cli.invoke(app, ["keys", "create", "--name", "a", "--role", "auditor"])
    cli.invoke(app, ["keys", "create", "--name", "b", "--role", "operator"])
    ok = cli.invoke(app, ["audit", "verify"])
    assert (ok.exit_code, ok.stdout.strip()) == (0, "audit chain intact: 3 entries")
    with platform.engine.begin() as conn:
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 2).values(actor="x"))
    broken = cli.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "audit chain broken at entry 2" in broken.stderr


def test_unmigrated_database_gives_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FINAI_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("FINAI_HOME", str(tmp_path))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["keys", "list"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "run 'finai db upgrade'" in result.stderr
    assert "Traceback" not in result.output


def test_production_refuses_a_missing_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FINAI_ENVIRONMENT", "production")
    monkeypatch.setenv("FINAI_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("FINAI_SECRET_KEY", "changeme")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["db", "upgrade"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "FINAI_SECRET_KEY" in result.stderr
    assert not (tmp_path / "p.db").exists()
