"""Load and faults: two uvicorn workers on PostgreSQL and Redis; mid-load a worker is
killed, then PostgreSQL and then Redis go down for a few seconds and come back.

PostgreSQL and Redis are reached through proxies the test takes down: every connection
is cut and new ones are refused, which is what the service sees of a restart.

The promises: no 5xx but a 503 with Retry-After while the database is away; fraud
answers degraded (not errors) while Redis is away, and rate limits fall back to each
process; every answered decision is stored whole (with its audit entry), and nothing is
stored twice; the service recovers without a restart; the audit chain verifies.
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
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from finai.context import Platform
from finai.datasets import make_loan_book
from finai.security import Role, audit, create_key
from finai.store import AuditEntryRow, CreditDecisionRow, FraudScoreRow
from tests.conftest import REDIS_URL, drop_keys, make_platform, unique_prefix, wipe
from tests.e2e.conftest import finai_cli, server_env, serving
from tests.e2e.proxy import OutageProxy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DURATION = 18.0
KILL_AT = 3.0
DATABASE_DOWN = (6.0, 9.0)
REDIS_DOWN = (11.0, 14.0)
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


class Tally:
    """What the clients saw, per kind of request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.ids: dict[str, list[str]] = {"credit": [], "fraud": []}
        self.bad: list[str] = []
        self.degraded = 0

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
                self.degraded += bool(body.get("degraded"))

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


def _at(start: float, offset: float) -> None:
    time.sleep(max(0.0, start + offset - time.monotonic()))


def test_two_workers_survive_a_killed_worker_and_database_and_redis_outages(
    pg_platform: Platform, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    database = make_url(pg_platform.settings.db_url)
    state = make_url(REDIS_URL.replace("redis://", "postgresql://"))  # host and port only
    pg_proxy = OutageProxy(database.host or "127.0.0.1", database.port or 5432)
    redis_proxy = OutageProxy(state.host or "127.0.0.1", state.port or 6379)
    env = {
        **server_env(pg_platform.settings.home, pg_platform.settings.db_url),
        "FINAI_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/{state.database or 0}",
        "FINAI_REDIS_PREFIX": prefix,
        # one key drives the load: a limit this high never refuses, but is checked
        "FINAI_RATE_LIMIT": "1000000",
        "FINAI_LOG_LEVEL": "WARNING",
    }
    init = finai_cli(env, "init")  # the demo credit and fraud models
    assert init.returncode == 0, init.stderr
    env["FINAI_DATABASE_URL"] = database.set(host="127.0.0.1", port=pg_proxy.port).render_as_string(
        hide_password=False
    )
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
            threads = [
                threading.Thread(target=_drive, args=(url, token, start + DURATION, tally, w))
                for w in range(THREADS)
            ]
            for thread in threads:
                thread.start()
            _at(start, KILL_AT)
            workers = _workers(env["FINAI_PORT"])
            assert len(workers) == 2, workers
            os.kill(workers[0], signal.SIGKILL)
            _at(start, DATABASE_DOWN[0])
            pg_proxy.down()
            _at(start, DATABASE_DOWN[1])
            pg_proxy.up()
            _at(start, REDIS_DOWN[0])
            redis_proxy.down()
            _at(start, REDIS_DOWN[1])
            redis_proxy.up()
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
        pg_proxy.close()
        redis_proxy.close()
        drop_keys(redis.Redis.from_url(REDIS_URL), prefix)

    assert not tally.bad, tally.bad[:5]
    assert tally.ok("credit") > 50 and tally.ok("fraud") > 50, tally.counts
    outage = tally.counts[("credit", "503")] + tally.counts[("fraud", "503")]
    assert outage > 0, tally.counts  # the database outage was seen, as 503s
    assert tally.degraded > 0, tally.counts  # the Redis outage was seen, as degraded scores
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
    answered_scores = len(set(tally.ids["fraud"]))
    assert scores <= answered_scores
    assert scores >= 0.9 * answered_scores
