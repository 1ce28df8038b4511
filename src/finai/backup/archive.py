"""Backups: every table and every model artifact in one encrypted file, and their restore.

A backup is a gzipped tar stream, sealed with :mod:`finai.backup.stream` under a key
derived from the platform secret, holding

* ``manifest.json``: when, the migration revision, each table's row count and sha256,
  each artifact's size (artifacts are named by their sha256);
* ``tables/<name>.jsonl``: the rows, one JSON object each, read in one snapshot;
* ``artifacts/<sha256>.bin``: the registered model files.

Rows are written database-neutrally, so a SQLite backup restores into PostgreSQL and
back. The key file of key encryption keys is **not** in it: a stolen backup reveals no
personal data, and a restore needs that key file beside it to open personal fields.
Restore checks every hash before it changes anything, then writes every row in one
transaction into an empty database.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, text
from sqlalchemy.types import TypeDecorator

from finai import __version__
from finai.backup.stream import DecryptingReader, EncryptingWriter
from finai.exceptions import Conflict, IntegrityError, ValidationError
from finai.registry import artifacts
from finai.store import AuditHeadRow, Base
from finai.store.migrate import head_revision

FORMAT = 1
BATCH = 1_000
_ARTIFACT = re.compile(r"^artifacts/([0-9a-f]{64})\.bin$")
_TABLE = re.compile(r"^tables/([a-z_]+)\.jsonl$")


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: its revision, row counts and hashes, artifacts."""

    created_at: str
    finai: str
    revision: str
    tables: dict[str, dict[str, Any]]
    artifacts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest as stored in the backup."""
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "finai": self.finai,
            "revision": self.revision,
            "tables": self.tables,
            "artifacts": self.artifacts,
        }

    @property
    def rows(self) -> int:
        """Rows in all tables."""
        return sum(int(entry["rows"]) for entry in self.tables.values())


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _decoder(table: Table) -> dict[str, type]:
    kinds: dict[str, type] = {}
    for column in table.columns:
        column_type = column.type
        if isinstance(column_type, TypeDecorator):
            column_type = column_type.impl_instance
        try:
            kind = column_type.python_type
        except NotImplementedError:
            continue
        if kind in (datetime, Decimal, bytes):
            kinds[column.name] = kind
    return kinds


def _decode(row: dict[str, Any], kinds: dict[str, type]) -> dict[str, Any]:
    for name, kind in kinds.items():
        value = row.get(name)
        if value is None:
            continue
        if kind is datetime:
            row[name] = datetime.fromisoformat(value)
        elif kind is Decimal:
            row[name] = Decimal(value)
        else:
            row[name] = base64.b64decode(value)
    return row


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """Yield a connection reading one consistent snapshot of the database."""
    if engine.dialect.name == "sqlite":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("BEGIN")  # a WAL read transaction: one snapshot
            try:
                yield conn
            finally:
                conn.exec_driver_sql("COMMIT")
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        yield conn


def _add_file(archive: tarfile.TarFile, name: str, path: Path) -> None:
    info = archive.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    with path.open("rb") as handle:
        archive.addfile(info, handle)


def _dump_table(conn: Connection, table: Table, path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    rows = 0
    order = list(table.primary_key.columns)
    with path.open("wb") as handle:
        for row in conn.execute(select(table).order_by(*order)).mappings():
            line = json.dumps({k: _encode(v) for k, v in row.items()}, sort_keys=True).encode()
            line += b"\n"
            handle.write(line)
            digest.update(line)
            rows += 1
    return {"rows": rows, "sha256": digest.hexdigest()}


def create_backup(engine: Engine, artifact_dir: Path, key: bytes, out: Path) -> Manifest:
    """Write an encrypted backup of the database and the artifacts to ``out``.

    The file appears only when complete (written aside, then renamed), readable by its
    owner only.

    Raises
    ------
    Conflict
        When ``out`` exists.
    """
    if out.exists():
        raise Conflict(f"{out} exists; choose another file", field="out")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="finai-backup-") as scratch:
        work = Path(scratch)
        tables: dict[str, dict[str, Any]] = {}
        with _snapshot(engine) as conn:
            for table in Base.metadata.sorted_tables:
                tables[table.name] = _dump_table(conn, table, work / f"{table.name}.jsonl")
        stored = sorted(artifact_dir.glob("*.bin")) if artifact_dir.is_dir() else []
        manifest = Manifest(
            created_at=datetime.now().astimezone().isoformat(timespec="seconds"),
            finai=__version__,
            revision=head_revision(),
            tables=tables,
            artifacts={path.stem: path.stat().st_size for path in stored},
        )
        (work / "manifest.json").write_text(json.dumps(manifest.to_dict(), indent=2))
        partial = out.with_name(f".{out.name}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as sink:
                writer = EncryptingWriter(sink, key)
                with tarfile.open(fileobj=writer, mode="w|gz") as archive:  # type: ignore[call-overload]
                    _add_file(archive, "manifest.json", work / "manifest.json")
                    for name in tables:
                        _add_file(archive, f"tables/{name}.jsonl", work / f"{name}.jsonl")
                    for path in stored:
                        _add_file(archive, f"artifacts/{path.name}", path)
                writer.close()
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def _extract(source: Path, key: bytes, into: Path) -> Manifest:
    """Decrypt and unpack a backup into ``into``, then check every hash against the manifest."""
    with source.open("rb") as handle:
        reader = DecryptingReader(handle, key)
        try:
            with tarfile.open(fileobj=reader, mode="r|gz") as archive:  # type: ignore[call-overload]
                for member in archive:
                    known = member.name == "manifest.json" or _TABLE.match(member.name)
                    if not member.isfile() or not (known or _ARTIFACT.match(member.name)):
                        raise IntegrityError(f"unexpected entry {member.name!r} in the backup")
                    archive.extract(member, into, filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise IntegrityError(f"the backup cannot be unpacked ({exc})") from exc
    try:
        body = json.loads((into / "manifest.json").read_text())
        manifest = Manifest(
            created_at=str(body["created_at"]),
            finai=str(body["finai"]),
            revision=str(body["revision"]),
            tables={
                str(name): {"sha256": str(entry["sha256"]), "rows": int(entry["rows"])}
                for name, entry in body["tables"].items()
            },
            artifacts={str(k): int(v) for k, v in body["artifacts"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IntegrityError("the backup's manifest is missing or malformed") from exc
    for name, entry in manifest.tables.items():
        path = into / "tables" / f"{name}.jsonl"
        if not path.is_file() or _sha256(path) != entry["sha256"]:
            raise IntegrityError(f"table {name!r} does not match the backup's manifest")
    for digest in manifest.artifacts:
        path = into / "artifacts" / f"{digest}.bin"
        if not path.is_file() or _sha256(path) != digest:
            raise IntegrityError(f"artifact {digest[:12]}… does not match its hash")
    return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_empty(conn: Connection) -> bool:
    for table in Base.metadata.sorted_tables:
        query = select(func.count()).select_from(table)
        if table.name == AuditHeadRow.__tablename__:
            query = query.where(AuditHeadRow.seq != 0)
        if conn.execute(query).scalar_one():
            return False
    return True


def _load_rows(conn: Connection, table: Table, path: Path) -> None:
    kinds = _decoder(table)
    batch: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for line in handle:
            batch.append(_decode(json.loads(line), kinds))
            if len(batch) == BATCH:
                conn.execute(table.insert(), batch)
                batch = []
    if batch:
        conn.execute(table.insert(), batch)


def _reset_sequences(conn: Connection) -> None:
    """Move PostgreSQL's id sequences past the restored ids."""
    for table in Base.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                highest = conn.execute(select(func.max(column))).scalar_one()
                conn.execute(
                    text("SELECT setval(pg_get_serial_sequence(:table, :column), :next, false)"),
                    {"table": table.name, "column": column.name, "next": (highest or 0) + 1},
                )


def restore_backup(engine: Engine, artifact_dir: Path, key: bytes, source: Path) -> Manifest:
    """Restore a backup into an empty, migrated database and the artifact store.

    Nothing changes unless the whole backup decrypts, every hash matches, the
    revisions agree and the database is empty; the rows are written in one transaction.

    Raises
    ------
    IntegrityError
        For a wrong key, a damaged or altered file.
    ValidationError
        When the backup's migration revision is not this FinAI's.
    Conflict
        When the database already holds data.
    """
    with tempfile.TemporaryDirectory(prefix="finai-restore-") as scratch:
        work = Path(scratch)
        manifest = _extract(source, key, work)
        if manifest.revision != head_revision():
            raise ValidationError(
                f"the backup is at migration {manifest.revision}, this FinAI at"
                f" {head_revision()}; restore it with the FinAI version that made it",
                field="revision",
            )
        known = {table.name: table for table in Base.metadata.sorted_tables}
        unknown = set(manifest.tables) - set(known)
        if unknown:
            raise ValidationError(f"the backup has unknown tables: {sorted(unknown)}")
        with engine.begin() as conn:
            if not _is_empty(conn):
                raise Conflict("the database already holds data; restore into an empty one")
            conn.execute(delete(AuditHeadRow))
            for name, table in known.items():
                if name in manifest.tables:
                    _load_rows(conn, table, work / "tables" / f"{name}.jsonl")
            if engine.dialect.name == "postgresql":
                _reset_sequences(conn)
        for digest in manifest.artifacts:
            data = (work / "artifacts" / f"{digest}.bin").read_bytes()
            if artifacts.write(artifact_dir, data) != digest:
                raise IntegrityError(f"artifact {digest[:12]}… changed while restoring")
    return manifest
