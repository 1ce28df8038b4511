"""Scores stored in batches off the request path: nothing lost, one audit entry a batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finai.context import Platform
from finai.fraud.scoring import FraudScorer, ScoreResult, Transaction
from finai.fraud.state import MemoryStore
from finai.fraud.writer import ScoreWriter
from finai.store import AuditEntryRow, FraudScoreRow
from tests.fraud.simulations import trained

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def scored(n: int, start: int = 0) -> list[tuple[Transaction, ScoreResult]]:
    scorer = FraudScorer(trained().model, "fraud", 1, MemoryStore())
    out = []
    for i in range(start, start + n):
        tx = Transaction(f"t{i}", T0 + timedelta(seconds=i), f"c{i % 7}", f"m{i % 5}", 10.0 + i)
        out.append((tx, scorer.score(tx)))
    return out


def counts(platform: Platform) -> tuple[int, list[str]]:
    with platform.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(FraudScoreRow)) or 0
        actions = list(session.scalars(select(AuditEntryRow.action)).all())
    return int(rows), actions


def test_batches_store_everything_with_one_audit_entry_each(platform: Platform) -> None:
    writer = ScoreWriter(platform.sessions, platform.audit_key, delay=timedelta(seconds=0.2))
    for tx, result in scored(120):
        writer.submit(tx, result, actor="k", source="api")
    assert writer.flush()
    rows, actions = counts(platform)
    assert rows == 120
    assert 1 <= len(actions) < 120  # batched: far fewer entries than scores
    assert set(actions) <= {"fraud.score", "fraud.score.batch"}
    writer.close()


def test_no_delay_stores_before_submit_returns(platform: Platform) -> None:
    writer = ScoreWriter(platform.sessions, platform.audit_key, delay=timedelta(0))
    (tx, result), *_ = scored(1)
    writer.submit(tx, result, actor="k", source="api")
    assert counts(platform) == (1, ["fraud.score"])
    writer.submit(tx, result, actor="k", source="api")  # a replay stores nothing
    assert counts(platform) == (1, ["fraud.score"])


def test_close_stores_what_is_queued(platform: Platform) -> None:
    writer = ScoreWriter(platform.sessions, platform.audit_key, delay=timedelta(seconds=5))
    for tx, result in scored(10):
        writer.submit(tx, result, actor="k", source="api")
    writer.close()
    assert counts(platform)[0] == 10


def test_a_failed_write_is_retried_and_nothing_is_lost(platform: Platform) -> None:
    failures = [RuntimeError("database went away")]

    @contextmanager
    def flaky() -> Iterator[Session]:
        if failures:
            raise failures.pop()
        with platform.sessions() as session:
            yield session

    writer = ScoreWriter(flaky, platform.audit_key, delay=timedelta(milliseconds=10))  # type: ignore[arg-type]
    for tx, result in scored(5):
        writer.submit(tx, result, actor="k", source="stream")
    assert writer.flush(timeout=10)
    assert counts(platform)[0] == 5 and not failures
    writer.close()
