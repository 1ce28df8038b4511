from __future__ import annotations

import json
import shutil
import tarfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from finai import registry
from finai.backup import create_backup, restore_backup
from finai.backup.stream import EncryptingWriter
from finai.context import Platform
from finai.exceptions import Conflict, IntegrityError
from finai.security import Role, audit, create_key
from finai.store import Base, CreditDecisionRow, upgrade
from tests.conftest import make_platform, wipe

KEY = b"b" * 32


def fill(platform: Platform) -> bytes:
    """Keys, a model artifact, audit entries, a decision and sealed personal data."""
    with platform.sessions() as session:
        create_key(session, platform.audit_key, name="ops", role=Role.ADMIN, actor="t")
        registry.register(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name="pd-model",
            model={"weights": [0.5, 1.5]},
            kind="test.dict",
            actor="t",
            metrics={"auc": 0.8},
        )
        session.add(
            CreditDecisionRow(
                id="d" * 32,
                created_at=datetime(2026, 5, 1, 12, 30, tzinfo=UTC),
                actor="t",
                applicant_ref="ref-1",
                model_name="pd-model",
                model_version=1,
                policy_version=1,
                input_hash="0" * 64,
                outcome="approve",
                pd=0.031,
                score=712.5,
                credit_limit=Decimal("12500.00"),
                currency="EUR",
                reasons=[{"feature": "income", "points": -3.5}],
                knockouts=[],
            )
        )
        sealed = platform.vault.seal(session, "ID-77", {"name": "Philippa"}, purpose="p")
        session.commit()
    return sealed


def _contents(platform: Platform) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    with platform.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            found[table.name] = [dict(row) for row in conn.execute(query).mappings()]
    return found


def test_round_trip_restores_rows_artifacts_chain_and_personal_data(
    platform: Platform, tmp_path: Path
) -> None:
    sealed = fill(platform)
    before = _contents(platform)
    out = tmp_path / "finai.backup"
    manifest = create_backup(platform.engine, platform.artifact_dir, KEY, out)
    assert out.stat().st_mode & 0o777 == 0o600
    assert manifest.tables["credit_decisions"]["rows"] == 1
    assert b"Philippa" not in out.read_bytes() and b"ref-1" not in out.read_bytes()

    wipe(platform)
    shutil.rmtree(platform.artifact_dir)
    restored = restore_backup(platform.engine, platform.artifact_dir, KEY, out)
    assert restored.rows == manifest.rows
    assert _contents(platform) == before
    with platform.sessions() as session:
        assert audit.verify(session, platform.audit_key).ok
        _info, model = registry.load(session, platform.artifact_dir, "pd-model", 1)
        assert model == {"weights": [0.5, 1.5]}
        assert platform.vault.open(session, sealed, purpose="p") == {"name": "Philippa"}
        # ids continue after the restored ones
        second = registry.register(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name="pd-model",
            model={"weights": [1.0]},
            kind="test.dict",
            actor="t",
        )
        session.commit()
        assert second.version == 2
        assert audit.verify(session, platform.audit_key).ok


def test_a_backup_restores_into_the_other_database_kind(platform: Platform, tmp_path: Path) -> None:
    fill(platform)
    out = tmp_path / "finai.backup"
    create_backup(platform.engine, platform.artifact_dir, KEY, out)
    url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(url)
    other = make_platform(url, tmp_path / "other-home")
    try:
        restore_backup(other.engine, other.artifact_dir, KEY, out)
        assert _contents(other)["credit_decisions"] == _contents(platform)["credit_decisions"]
        with other.sessions() as session:
            assert audit.verify(session, other.audit_key).ok
    finally:
        other.close()


def test_bad_backups_and_busy_databases_change_nothing(platform: Platform, tmp_path: Path) -> None:
    fill(platform)
    out = tmp_path / "finai.backup"
    create_backup(platform.engine, platform.artifact_dir, KEY, out)
    with pytest.raises(Conflict, match="exists"):
        create_backup(platform.engine, platform.artifact_dir, KEY, out)
    before = _contents(platform)
    with pytest.raises(Conflict, match="already holds data"):
        restore_backup(platform.engine, platform.artifact_dir, KEY, out)
    assert _contents(platform) == before
    wipe(platform)
    empty = _contents(platform)
    with pytest.raises(IntegrityError):
        restore_backup(platform.engine, platform.artifact_dir, b"w" * 32, out)
    damaged = tmp_path / "damaged.backup"
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 1
    damaged.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        restore_backup(platform.engine, platform.artifact_dir, KEY, damaged)
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(out.read_bytes()[:-10])
    with pytest.raises(IntegrityError):
        restore_backup(platform.engine, platform.artifact_dir, KEY, truncated)
    assert _contents(platform) == empty


@pytest.mark.parametrize(
    "tables",
    [{"credit_decisions": 5}, {"credit_decisions": {"rows": "many", "sha256": "0"}}, []],
    ids=["entry-not-an-object", "rows-not-a-number", "tables-not-an-object"],
)
def test_a_well_encrypted_backup_with_a_malformed_manifest_is_refused(
    platform: Platform, tmp_path: Path, tables: object
) -> None:
    manifest = {
        "format": 1,
        "created_at": "2026-12-03T12:00:00+00:00",
        "finai": "0.1.0",
        "revision": "0006",
        "tables": tables,
        "artifacts": {},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "table.jsonl").write_text("")
    out = tmp_path / "forged.backup"
    with out.open("wb") as sink:
        writer = EncryptingWriter(sink, KEY)
        with tarfile.open(fileobj=writer, mode="w|gz") as archive:  # type: ignore[call-overload]
            archive.add(tmp_path / "manifest.json", arcname="manifest.json")
            archive.add(tmp_path / "table.jsonl", arcname="tables/credit_decisions.jsonl")
        writer.close()
    wipe(platform)
    empty = _contents(platform)
    with pytest.raises(IntegrityError, match="manifest"):
        restore_backup(platform.engine, platform.artifact_dir, KEY, out)
    assert _contents(platform) == empty
