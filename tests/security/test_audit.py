from __future__ import annotations

import hashlib
import itertools
import multiprocessing as mp
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.sql import Executable

from finai.context import Platform
from finai.security import audit
from finai.store import AuditEntryRow, AuditHeadRow, utcnow
from tests.conftest import make_platform


def _fill(platform: Platform, n: int) -> None:
    with platform.sessions() as session:
        for i in range(n):
            audit.append(
                session,
                platform.audit_key,
                actor="tester",
                action="thing.change",
                object_type="thing",
                object_id=str(i),
                payload={"i": i, "note": "ok"},
            )
        session.commit()


def test_intact_chain_verifies_and_links(platform: Platform) -> None:
    _fill(platform, 5)
    with platform.sessions() as session:
        result = audit.verify(session, platform.audit_key)
        assert (result.ok, result.count, result.first_bad_seq) == (True, 5, None)
        assert audit.count(session) == 5
        rows = list(session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq)))
        assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
        assert rows[0].prev_hash == audit.GENESIS
        assert all(b.prev_hash == a.mac for a, b in itertools.pairwise(rows))
        assert all(r.created_at.tzinfo is not None for r in rows)


def test_empty_chain_is_intact(platform: Platform) -> None:
    with platform.sessions() as session:
        assert audit.verify(session, platform.audit_key).ok


def test_wrong_key_fails_at_first_entry(platform: Platform) -> None:
    _fill(platform, 3)
    with platform.sessions() as session:
        result = audit.verify(session, b"another key")
    assert not result.ok
    assert result.first_bad_seq == 1


FORGED = '{"i":99}'
FORGED_HASH = hashlib.sha256(FORGED.encode()).hexdigest()
E = AuditEntryRow


@pytest.mark.parametrize(
    ("statement", "bad_seq"),
    [
        (update(E).where(E.seq == 3).values(actor="mallory"), 3),
        (update(E).where(E.seq == 4).values(payload=FORGED), 4),
        (update(E).where(E.seq == 2).values(payload=FORGED, payload_hash=FORGED_HASH), 2),
        (delete(E).where(E.seq == 3), 3),
        (delete(E).where(E.seq == 6), 6),
        (update(E).where(E.seq == 1).values(object_id="x"), 1),
        (update(E).where(E.seq == 5).values(created_at=utcnow()), 5),
    ],
    ids=[
        "edit-actor",
        "edit-payload",
        "edit-payload-and-hash",
        "delete-middle",
        "delete-last",
        "edit-first",
        "edit-time",
    ],
)
def test_tampering_is_detected_at_the_first_bad_entry(
    platform: Platform, statement: Executable, bad_seq: int
) -> None:
    _fill(platform, 6)
    with platform.engine.begin() as conn:
        conn.execute(statement)
    with platform.sessions() as session:
        result = audit.verify(session, platform.audit_key)
    assert not result.ok
    assert result.first_bad_seq == bad_seq
    assert result.reason


def test_inserted_entry_is_detected(platform: Platform) -> None:
    _fill(platform, 4)
    with platform.engine.begin() as conn:
        conn.execute(
            update(AuditEntryRow).where(AuditEntryRow.seq >= 3).values(seq=AuditEntryRow.seq + 100)
        )
        row = conn.execute(select(AuditEntryRow).where(AuditEntryRow.seq == 2)).one()
        forged = dict(row._mapping)
        forged.update(seq=3, action="key.create", mac="f" * 64)
        conn.execute(AuditEntryRow.__table__.insert().values(**forged))
        conn.execute(
            update(AuditEntryRow).where(AuditEntryRow.seq >= 103).values(seq=AuditEntryRow.seq - 99)
        )
    with platform.sessions() as session:
        result = audit.verify(session, platform.audit_key)
    assert not result.ok
    assert result.first_bad_seq == 3


def test_reordered_entries_are_detected(platform: Platform) -> None:
    _fill(platform, 5)
    with platform.engine.begin() as conn:
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 2).values(seq=-2))
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 3).values(seq=2))
        conn.execute(update(AuditEntryRow).where(AuditEntryRow.seq == -2).values(seq=3))
    with platform.sessions() as session:
        result = audit.verify(session, platform.audit_key)
    assert not result.ok
    assert result.first_bad_seq == 2


def test_truncating_the_whole_tail_is_detected_by_the_head(platform: Platform) -> None:
    _fill(platform, 5)
    with platform.engine.begin() as conn:
        conn.execute(delete(AuditEntryRow).where(AuditEntryRow.seq >= 4))
    with platform.sessions() as session:
        result = audit.verify(session, platform.audit_key)
        assert (result.ok, result.first_bad_seq, result.count) == (False, 4, 3)
        assert session.scalar(select(AuditHeadRow.seq)) == 5


def test_append_rolls_back_with_its_transaction(platform: Platform) -> None:
    _fill(platform, 2)
    with platform.sessions() as session:
        audit.append(
            session, platform.audit_key, actor="a", action="x", object_type="t", object_id="1"
        )
        session.rollback()
        audit.append(
            session, platform.audit_key, actor="a", action="y", object_type="t", object_id="2"
        )
        session.commit()
        result = audit.verify(session, platform.audit_key)
        assert (result.ok, result.count) == (True, 3)
        assert [e.action for e in audit.entries(session, limit=1)] == ["y"]


def _writer(db_url: str, home: str, n: int, name: str) -> None:
    platform = make_platform(db_url, Path(home))
    for i in range(n):
        with platform.sessions() as session:
            audit.append(
                session,
                platform.audit_key,
                actor=name,
                action="concurrent.write",
                object_type="writer",
                object_id=f"{name}-{i}",
            )
            session.commit()
    platform.close()


def test_two_processes_appending_never_fork_the_chain(platform: Platform, tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    n = 60
    procs = [
        ctx.Process(
            target=_writer,
            args=(str(platform.engine.url.render_as_string(False)), str(tmp_path), n, f"w{k}"),
        )
        for k in range(2)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    with platform.sessions() as session:
        result = audit.verify(session, platform.audit_key)
        actors = session.scalars(select(AuditEntryRow.actor)).all()
    assert (result.ok, result.count) == (True, 2 * n)
    assert sorted(set(actors)) == ["w0", "w1"]
