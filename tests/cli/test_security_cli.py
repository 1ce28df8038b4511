from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finai.cli import app
from finai.context import Platform
from finai.security.vault import Erased
from tests.credit.test_personal import _decision


def test_rotate_key_rewraps_and_data_still_opens(cli: CliRunner, platform: Platform) -> None:
    with platform.sessions() as session:
        sealed = platform.vault.seal(session, "P-1", {"name": "Ottoline"}, purpose="p")
        session.commit()
    first = platform.vault.keys.current()
    rotated = cli.invoke(app, ["security", "rotate-key", "--json"])
    assert rotated.exit_code == 0, rotated.output
    body = json.loads(rotated.stdout)
    assert body["rewrapped"] == 1 and body["kek_id"] != first and body["dropped"] == []
    listed = json.loads(cli.invoke(app, ["security", "keys", "--json"]).stdout)["keys"]
    assert {(k["kek_id"], k["current"], k["data_keys"]) for k in listed} == {
        (first, False, 0),
        (body["kek_id"], True, 1),
    }
    again = json.loads(cli.invoke(app, ["security", "rotate-key", "--drop-old", "--json"]).stdout)
    assert set(again["dropped"]) == {first, body["kek_id"]}
    with platform.sessions() as session:
        assert platform.vault.open(session, sealed, purpose="p") == {"name": "Ottoline"}


def test_erase_asks_then_shreds(cli: CliRunner, platform: Platform) -> None:
    with platform.sessions() as session:
        sealed = platform.vault.seal(session, "P-2", {"name": "Barnaby"}, purpose="p")
        session.commit()
    declined = cli.invoke(app, ["data", "erase", "--subject", "P-2"], input="n\n")
    assert declined.exit_code == 1 and "nothing erased" in declined.output
    erased = cli.invoke(app, ["data", "erase", "--subject", "p-2", "--yes"])
    assert erased.exit_code == 0 and "Erased." in erased.output
    with platform.sessions() as session, pytest.raises(Erased):
        platform.vault.open(session, sealed, purpose="p")
    twice = cli.invoke(app, ["data", "erase", "--subject", "P-2", "--yes"])
    assert twice.exit_code == 0 and "Nothing to erase" in twice.output


def test_a_broken_key_file_is_one_line_and_changes_nothing(
    cli: CliRunner, platform: Platform
) -> None:
    path = platform.settings.kek_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    result = cli.invoke(app, ["security", "rotate-key"])
    assert result.exit_code == 1
    assert "not a valid FinAI key file" in result.output and "Traceback" not in result.output
    assert path.read_text() == "{}"


def test_retention_command(cli: CliRunner, platform: Platform) -> None:
    _decision(platform, "a" * 32, "OLD-1", days_ago=40)
    unset = cli.invoke(app, ["data", "retention"])
    assert unset.exit_code == 1 and "FINAI_PERSONAL_RETENTION_DAYS" in unset.output
    done = cli.invoke(app, ["data", "retention", "--days", "30"])
    assert done.exit_code == 0, done.output
    assert "Erased the personal data of 1 applicants older than 30 days." in done.output


def test_create_key_file_never_overwrites(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "prod" / "kek.json"
    made = cli.invoke(app, ["security", "create-key-file", str(path)])
    assert made.exit_code == 0, made.output
    assert path.stat().st_mode & 0o777 == 0o600
    before = path.read_bytes()
    again = cli.invoke(app, ["security", "create-key-file", str(path)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert path.read_bytes() == before
