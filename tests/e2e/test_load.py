"""Load and faults: two uvicorn workers on PostgreSQL, one killed, connections cut mid-load.

The promises: no 5xx but a 503 with Retry-After while the database is cut off; every
answered decision is stored whole (with its audit entry), and nothing is stored twice;
the service recovers without a restart; the audit chain verifies afterwards.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine, func, select, text

from finai.context import Platform
from finai.datasets import make_loan_book
from finai.security import Role, audit, create_key
from finai.store import AuditEntryRow, CreditDecisionRow, FraudScoreRow
from tests.conftest import REDIS_URL, drop_keys, make_platform, unique_prefix, wipe
from tests.e2e.conftest import finai_cli, server_env, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DURATION = 14.0
KILL_AT = 4.0
CUT_AT = 8.0
THREADS = 6


@pytest.fixture
def pg_platform(postgres_url: str, tmp_path: Path) -> Iterator[Platform]:
    platform = make_platform(postgres_url, tmp_path / "home")
    wipe(platform)
    yield platform
    wipe(platform)
    platform.close()


def _workers(port: str) -> list[int]:
    """Pids of the uvicorn worker processes serving on ``port``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command and f"FINAI_PORT={port}".encode() in environ:
            found.append(int(entry.name))
    return found


def _cut_connections(url: str, database: str) -> None:
    """Terminate every server connection to ``database`` (a database restart, as seen by us)."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": database},
        )
    admin.dispose()


class Tally:
    """What the clients saw, per kind of request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.ids: dict[str, list[str]] = {"credit": [], "fraud": []}
        self.bad: list[str] = []

    def add(self, kind: str, answer: httpx.Response | None) -> None:
        with self.lock:
            if answer is None:
                self.counts[(kind, "transport")] += 1
                return
            status = answer.status_code
            self.counts[(kind, str(status))] += 1
            if status == 503 and "retry-after" not in answer.headers:
                self.bad.append(f"503 without Retry-After: {answer.text}")
            elif status >= 500 and status != 503:
                self.bad.append(f"{status}: {answer.text[:200]}")
            elif 200 <= status < 300:
                body = answer.json()
                key = "id" if kind == "credit" else "transaction_id"
                self.ids[kind].append(str(body[key]))

    def ok(self, kind: str) -> int:
        return sum(n for (k, status), n in self.counts.items() if k == kind and status[0] == "2")


def _drive(url: str, token: str, stop: float, tally: Tally, worker: int) -> None:
    applicants = make_loan_book(40, seed=worker).frame
    rows = [
        {k: (None if v != v else v) for k, v in row.items()}
        for row in applicants.to_dict(orient="records")
    ]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=20) as client:
        i = 0
        while time.monotonic() < stop:
            i += 1
            kind, request = _request(rows, worker, i)
            try:
                answer = client.post(request["path"], json=request["json"])
            except httpx.TransportError:
                tally.add(kind, None)
                continue
            tally.add(kind, answer)


def _request(rows: list[dict[str, Any]], worker: int, i: int) -> tuple[str, dict[str, Any]]:
    if i % 2:
        body = {"model": "credit-demo", "applicant": rows[i % len(rows)]}
        return "credit", {"path": "/v1/credit/decisions", "json": body}
    tx = {
        "transaction_id": f"w{worker}-{i}",
        "timestamp": datetime.now(UTC).isoformat(),
        "customer_id": f"c{(worker * 7 + i) % 50}",
        "terminal_id": f"t{i % 30}",
        "amount": 10.0 + (i * 37) % 500,
    }
    return "fraud", {"path": "/v1/fraud/score", "json": tx}


def test_two_workers_under_load_survive_a_killed_worker_and_cut_connections(
    pg_platform: Platform, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    env = {
        **server_env(pg_platform.settings.home, pg_platform.settings.db_url),
        "FINAI_REDIS_URL": REDIS_URL,
        "FINAI_REDIS_PREFIX": prefix,
        "FINAI_RATE_LIMIT": "0",  # one key drives the load: measure the service, not the limit
        "FINAI_LOG_LEVEL": "WARNING",
    }
    init = finai_cli(env, "init")  # the demo credit and fraud models
    assert init.returncode == 0, init.stderr
    with pg_platform.sessions() as session:
        _key, token = create_key(
            session, pg_platform.audit_key, name="load", role=Role.OPERATOR, actor="t"
        )
        session.commit()
    tally = Tally()
    try:
        log = tmp_path / "server.log"
        with serving(env, log, "--workers", "2", ready_within=180) as url:
            deadline = time.monotonic() + 180  # both workers up, not just the first
            while len(_workers(env["FINAI_PORT"])) < 2:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
            start = time.monotonic()
            stop = start + DURATION
            threads = [
                threading.Thread(target=_drive, args=(url, token, stop, tally, w))
                for w in range(THREADS)
            ]
            for thread in threads:
                thread.start()
            time.sleep(KILL_AT)
            workers = _workers(env["FINAI_PORT"])
            assert len(workers) == 2, workers
            os.kill(workers[0], signal.SIGKILL)
            time.sleep(CUT_AT - KILL_AT)
            _cut_connections(pg_platform.settings.db_url, str(pg_platform.engine.url.database))
            for thread in threads:
                thread.join()
            # recovered without a restart: both workers serve, the database answers
            deadline = time.monotonic() + 30
            while httpx.get(f"{url}/readyz", timeout=5).status_code != 200:
                assert time.monotonic() < deadline, "the service did not recover"
                time.sleep(0.5)
            assert len(_workers(env["FINAI_PORT"])) == 2
            for i in range(4):
                kind, request = _request([{}], 99, 2 * i)
                after = httpx.post(
                    f"{url}{request['path']}",
                    json=request["json"],
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                assert after.status_code == 200, after.text
                tally.add(kind, after)
    finally:
        drop_keys(redis.Redis.from_url(REDIS_URL), prefix)

    assert not tally.bad, tally.bad[:5]
    assert tally.ok("credit") > 50 and tally.ok("fraud") > 50, tally.counts
    with pg_platform.sessions() as session:
        decisions = set(session.scalars(select(CreditDecisionRow.id)))
        audited = set(
            session.scalars(
                select(AuditEntryRow.object_id).where(AuditEntryRow.action == "credit.decision")
            )
        )
        scores = session.scalar(select(func.count()).select_from(FraudScoreRow)) or 0
        assert audit.verify(session, pg_platform.audit_key).ok
    answered = set(tally.ids["credit"])
    lost_in_flight = tally.counts[("credit", "transport")]
    # every answered decision is stored, with its audit entry; nothing half-written
    assert answered <= decisions
    assert decisions == audited
    assert len(decisions) - len(answered) <= lost_in_flight
    # scores are stored in batches after their answer: a killed worker may lose its last
    # batch (documented), never store one twice
    assert scores <= len(set(tally.ids["fraud"]))
    assert scores >= 0.9 * len(set(tally.ids["fraud"]))
