"""Platform: API overhead, audit append throughput and audit verify on 100,000 entries.

Three measurements, each made side by side in one run so the ratios hold even where
the lone times depend on the machine:

1. API overhead: authenticated ``GET /v1/models`` on a real uvicorn process of FinAI
   (SQLite) against a bare FastAPI app returning the same JSON (``_bare_app.py``),
   both started the same way and measured in alternating rounds.
2. Audit append throughput: ``audit.append`` one per commit and 100 per commit,
   against plain ORM inserts of a same-sized row without the chain, on SQLite and
   PostgreSQL.
3. ``finai audit verify`` on 100,000 entries, in-process and through the real CLI.

Run it through ``benchmarks/run.py platform`` (not directly: this file's name would
shadow the standard library's ``platform`` module).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import BigInteger, String, Text, create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from benchmarks._common import (
    BIN,
    finai_env,
    log,
    md_table,
    median,
    num,
    percentile,
    ratio,
    scratch_dir,
    uvicorn_server,
)
from finai import registry
from finai.config import Settings
from finai.context import Platform
from finai.security import audit
from finai.store import AuditEntryRow, AuditHeadRow, upgrade, utcnow
from finai.store.tables import UTCDateTime

PG_ADMIN_URL = os.environ.get(
    "FINAI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET = secrets.token_urlsafe(48)

# 1. API overhead
API_WARMUP = 300
API_REQUESTS = 2000  # per target, sequential, split over API_ROUNDS alternating rounds
API_ROUNDS = 4
API_THREADS = 8
API_CONCURRENT_REQUESTS = 2000  # per target, over API_THREADS keep-alive clients

# 2. Audit append throughput
APPEND_SINGLE = 500  # entries, one per commit
APPEND_BATCHED = 3000  # entries, APPEND_BATCH per commit
APPEND_BATCH = 100
APPEND_ROUNDS = 2  # chain and plain alternate this many times

# 3. Verify
VERIFY_ENTRIES = 100_000
FILL_BATCH = 5000
VERIFY_GOAL_S = 2.0
VERIFY_REPEATS = 3


# ---------------------------------------------------------------------------
# Shared: databases and the FinAI environment
# ---------------------------------------------------------------------------


@dataclass
class Backend:
    """A migrated scratch database and a FinAI platform on it."""

    name: str
    url: str
    home: Path
    platform: Platform

    def env(self) -> dict[str, str]:
        """The ``FINAI_*`` environment that points a subprocess at this database."""
        return finai_env(self.home, self.url, SECRET)


def make_platform(home: Path, url: str) -> Platform:
    """Build a FinAI platform on ``url``, keyed with this run's secret."""
    settings = Settings(
        environment="test", home=home, database_url=url, secret_key=SecretStr(SECRET)
    )
    return Platform(settings)


@contextmanager
def sqlite_backend(work: Path) -> Iterator[Backend]:
    """Yield a migrated SQLite database in ``work``."""
    home = work / "sqlite"
    home.mkdir()
    url = f"sqlite:///{home / 'finai.db'}"
    upgrade(url)
    backend = Backend(f"SQLite {sqlite3.sqlite_version}", url, home, make_platform(home, url))
    try:
        yield backend
    finally:
        backend.platform.close()


@contextmanager
def postgres_backend(work: Path) -> Iterator[Backend | None]:
    """Yield a scratch PostgreSQL database, dropped afterwards; None when unreachable."""
    admin_url = make_url(PG_ADMIN_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"finai_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            server = str(conn.execute(text("SHOW server_version")).scalar()).split()[0]
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        log(f"PostgreSQL unavailable, skipping it: {exc.orig}")
        admin.dispose()
        yield None
        return
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    home = work / "postgresql"
    home.mkdir()
    backend = Backend(f"PostgreSQL {server}", url, home, make_platform(home, url))
    try:
        upgrade(url)
        yield backend
    finally:
        backend.platform.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        log(f"dropped PostgreSQL database {name}")


# ---------------------------------------------------------------------------
# 1. API overhead
# ---------------------------------------------------------------------------


@dataclass
class Target:
    """One endpoint to measure."""

    label: str
    base_url: str
    path: str


@dataclass
class Latency:
    """Sequential latencies of one target, in seconds, and its concurrent throughput."""

    samples: list[float]
    concurrent_rps: float = 0.0

    @property
    def p50_ms(self) -> float:
        """Median latency in ms."""
        return percentile(self.samples, 50) * 1000

    @property
    def p99_ms(self) -> float:
        """99th percentile latency in ms."""
        return percentile(self.samples, 99) * 1000

    @property
    def rps(self) -> float:
        """Sequential requests per second (one client, keep-alive)."""
        return len(self.samples) / sum(self.samples)


def init_finai(env: dict[str, str], work: Path) -> str:
    """Run ``finai init`` and return the admin token it prints last on stdout."""
    done = subprocess.run(
        [str(BIN / "finai"), "init", "--no-demo"],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1].strip()


def register_models(platform: Platform, count: int = 3) -> None:
    """Register ``count`` small models so the list is not empty."""
    with platform.sessions() as session:
        for i in range(1, count + 1):
            registry.register(
                session,
                platform.audit_key,
                platform.artifact_dir,
                name=f"bench-model-{i}",
                model=f"model bytes {i}".encode(),
                kind="credit.scorecard",
                actor="bench",
                metrics={"auc": 0.7 + i / 100},
                seed=i,
            )
        session.commit()


def sequential(client: httpx.Client, path: str, count: int) -> list[float]:
    """Send ``count`` GETs one after another; return each latency in seconds."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text}")
    return samples


def concurrent(target: Target, headers: dict[str, str], threads: int, total: int) -> float:
    """Send ``total`` GETs from ``threads`` keep-alive clients at once; return requests/s."""
    per_thread = total // threads
    ready = threading.Barrier(threads + 1)
    failures: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=target.base_url, headers=headers) as client:
            client.get(target.path)
            ready.wait()
            for _ in range(per_thread):
                response = client.get(target.path)
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text}")

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{target.label}: {len(failures)} failed, e.g. {failures[0]}")
    return per_thread * threads / elapsed


def measure_targets(targets: list[Target], headers: dict[str, str]) -> dict[str, Latency]:
    """Warm every target up, then measure them in alternating rounds, then concurrently."""
    results = {t.label: Latency([]) for t in targets}
    clients = {t.label: httpx.Client(base_url=t.base_url, headers=headers) for t in targets}
    try:
        for t in targets:
            sequential(clients[t.label], t.path, API_WARMUP)
        per_round = API_REQUESTS // API_ROUNDS
        for round_no in range(API_ROUNDS):
            log(f"api: sequential round {round_no + 1}/{API_ROUNDS}")
            for t in targets:
                results[t.label].samples += sequential(clients[t.label], t.path, per_round)
    finally:
        for client in clients.values():
            client.close()
    for t in targets:
        log(f"api: {API_THREADS} concurrent clients on {t.label}")
        results[t.label].concurrent_rps = concurrent(
            t, headers, API_THREADS, API_CONCURRENT_REQUESTS
        )
    return results


def bench_api(work: Path) -> str:
    """Compare authenticated ``GET /v1/models`` on FinAI with a bare FastAPI app."""
    home = work / "api"
    home.mkdir()
    url = f"sqlite:///{home / 'finai.db'}"
    env = finai_env(home, url, SECRET)
    log("api: finai init")
    token = init_finai(env, home)
    platform = make_platform(home, url)
    register_models(platform)
    platform.close()
    headers = {"Authorization": f"Bearer {token}"}
    log("api: starting FinAI and the bare app under uvicorn")
    with (
        uvicorn_server("finai.api:create_app", factory=True, env=env, work=home) as finai_url,
        uvicorn_server("benchmarks._bare_app:app", factory=False, env=env, work=home) as bare_url,
    ):
        listed = httpx.get(f"{finai_url}/v1/models", headers=headers).json()
        if listed.get("count") != 3:
            raise RuntimeError(f"FinAI listed {listed!r}, expected 3 models")
        bare = Target("bare FastAPI `GET /v1/models`", bare_url, "/v1/models")
        health = Target("FinAI `GET /healthz` (public, no key)", finai_url, "/healthz")
        whoami = Target("FinAI `GET /v1/whoami` (key check only)", finai_url, "/v1/whoami")
        models = Target("FinAI `GET /v1/models` (authenticated)", finai_url, "/v1/models")
        results = measure_targets([bare, health, whoami, models], headers)
    base = results[bare.label]
    rows = []
    for label, r in results.items():
        rows.append(
            [
                label,
                f"{r.p50_ms:.3f}",
                f"{r.p99_ms:.3f}",
                num(r.rps),
                num(r.concurrent_rps),
                ratio(r.p50_ms / base.p50_ms),
                ratio(r.p99_ms / base.p99_ms),
                ratio(base.concurrent_rps / r.concurrent_rps),
            ]
        )
    fin = results[models.label]
    added = fin.p50_ms - base.p50_ms
    notes = (
        f"{API_REQUESTS:,} sequential requests per target on one keep-alive httpx client,"
        f" in {API_ROUNDS} alternating rounds after {API_WARMUP} warm-up requests; then"
        f" {API_CONCURRENT_REQUESTS:,} requests from {API_THREADS} client threads at once."
        " Both servers: `python -m uvicorn ... --no-access-log --log-level warning`, one"
        " worker, same interpreter (uvicorn's pure-Python h11/asyncio stack unless uvloop/"
        " httptools are installed). Latency is measured at the client, so it includes the"
        " httpx client's own time, which the client and both servers share on this"
        " machine's cores. FinAI uses SQLite, 3 registered models; the bare app builds the"
        " same pydantic response from a sync route. `/healthz` adds FinAI's middleware"
        " and dependency chain without a key; `/v1/whoami` adds the key lookup;"
        " `/v1/models` adds the registry query. Ratios are FinAI ÷ bare (for"
        " concurrent throughput: bare ÷ FinAI, so higher is slower everywhere)."
    )
    return (
        "### 1. API overhead: FinAI vs bare FastAPI under uvicorn\n\n"
        + md_table(
            [
                "target",
                "p50 ms",
                "p99 ms",
                "req/s (1 client)",
                f"req/s ({API_THREADS} clients)",
                "p50 ratio",
                "p99 ratio",
                "throughput ratio",
            ],
            rows,
        )
        + f"\n\nFinAI adds **{added:.3f} ms** at p50 per authenticated request"
        f" (**{ratio(fin.p50_ms / base.p50_ms)}** p50, **{ratio(fin.p99_ms / base.p99_ms)}** p99)."
        f"\n\n{notes}\n"
    )


# ---------------------------------------------------------------------------
# 2. Audit append throughput
# ---------------------------------------------------------------------------


class BenchBase(DeclarativeBase):
    """Tables of the benchmark only, created in the scratch databases."""


class PlainEntryRow(BenchBase):
    """A row shaped like ``audit_entries`` (same types, index and unique MAC), no chain."""

    __tablename__ = "bench_plain_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64), unique=True)


def sample_payload(i: int) -> dict[str, Any]:
    """The payload of a ``model.register`` entry: two sha256 and a kind."""
    digest = hashlib.sha256(str(i).encode()).hexdigest()
    return {"sha256": digest, "data_fingerprint": digest[::-1], "kind": "credit.scorecard"}


def append_chain(backend: Backend, payloads: list[dict[str, Any]], per_commit: int) -> float:
    """Append one chain entry per payload, committing every ``per_commit``; return seconds."""
    key = backend.platform.audit_key
    with backend.platform.sessions() as session:
        start = time.perf_counter()
        for i, payload in enumerate(payloads, 1):
            audit.append(
                session,
                key,
                actor="bench",
                action="model.register",
                object_type="model_version",
                object_id=f"bench-model:{i}",
                payload=payload,
            )
            if i % per_commit == 0:
                session.commit()
        session.commit()
        return time.perf_counter() - start


def plain_rows(payloads: list[dict[str, Any]], first_seq: int) -> list[dict[str, Any]]:
    """Precompute same-sized plain rows (JSON text and 64-hex fields) outside the timing."""
    rows = []
    for seq, payload in enumerate(payloads, first_seq):
        body = audit.canonical_json(payload)
        digest = hashlib.sha256(body.encode()).hexdigest()
        rows.append(
            {
                "seq": seq,
                "actor": "bench",
                "action": "model.register",
                "object_type": "model_version",
                "object_id": f"bench-model:{seq}",
                "payload": body,
                "payload_hash": digest,
                "prev_hash": digest[::-1],
                "mac": hashlib.sha256(f"{seq}".encode()).hexdigest(),
            }
        )
    return rows


def insert_plain(
    backend: Backend, rows: list[dict[str, Any]], per_commit: int, *, flush_each: bool
) -> float:
    """Insert plain ORM rows, committing every ``per_commit``; return seconds.

    With ``flush_each`` every row is flushed on its own, as ``audit.append`` does;
    without it the ORM batches a commit's rows into one multi-row INSERT.
    """
    with backend.platform.sessions() as session:
        start = time.perf_counter()
        for i, row in enumerate(rows, 1):
            session.add(PlainEntryRow(created_at=utcnow(), **row))
            if flush_each:
                session.flush()
            if i % per_commit == 0:
                session.commit()
        session.commit()
        return time.perf_counter() - start


@dataclass
class AppendResult:
    """Entries per second of the chain and the two plain baselines, for one mode."""

    backend: str
    per_commit: int
    chain: float
    plain_each: float
    plain_batched: float


def bench_append_mode(
    backend: Backend, total: int, per_commit: int, seq: list[int]
) -> AppendResult:
    """Time ``total`` chain appends and plain inserts, alternating in rounds."""
    chain_s = each_s = batched_s = 0.0
    per_round = total // APPEND_ROUNDS
    for round_no in range(APPEND_ROUNDS):
        log(f"append: {backend.name}, {per_commit}/commit, round {round_no + 1}/{APPEND_ROUNDS}")
        payloads = [sample_payload(seq[0] + i) for i in range(per_round)]
        chain_s += append_chain(backend, payloads, per_commit)
        each_s += insert_plain(backend, plain_rows(payloads, seq[0]), per_commit, flush_each=True)
        seq[0] += per_round
        batched_s += insert_plain(
            backend, plain_rows(payloads, seq[0]), per_commit, flush_each=False
        )
        seq[0] += per_round
    done = per_round * APPEND_ROUNDS
    return AppendResult(backend.name, per_commit, done / chain_s, done / each_s, done / batched_s)


def bench_append(backend: Backend) -> list[AppendResult]:
    """Measure append throughput one per commit and ``APPEND_BATCH`` per commit."""
    BenchBase.metadata.create_all(backend.platform.engine)
    seq = [1]
    return [
        bench_append_mode(backend, APPEND_SINGLE, 1, seq),
        bench_append_mode(backend, APPEND_BATCHED, APPEND_BATCH, seq),
    ]


def append_table(results: list[AppendResult]) -> str:
    """Render the append results with chain-cost ratios."""
    rows = [
        [
            r.backend,
            r.per_commit,
            num(r.chain),
            num(r.plain_each),
            num(r.plain_batched),
            ratio(r.plain_each / r.chain),
            ratio(r.plain_batched / r.chain),
        ]
        for r in results
    ]
    return md_table(
        [
            "database",
            "entries/commit",
            "chain entries/s",
            "plain, flush per row /s",
            "plain, flush at commit /s",
            "chain cost vs flush per row",
            "chain cost vs flush at commit",
        ],
        rows,
    )


# ---------------------------------------------------------------------------
# 3. Verify on 100,000 entries
# ---------------------------------------------------------------------------


def chain_count(backend: Backend) -> int:
    """Return how many entries the chain holds."""
    with backend.platform.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntryRow)) or 0)


def bulk_append(backend: Backend, count: int, batch: int) -> float:
    """Extend the chain by ``count`` entries, ``batch`` per transaction; return seconds.

    Builds each entry exactly as ``audit.append`` does (``canonical_json``, sha256,
    ``compute_mac`` over the previous MAC) but locks the head once per batch and writes
    the batch as one multi-row INSERT, the way an ``audit.append_many`` could. The
    verify runs after it prove the entries chain correctly.
    """
    key = backend.platform.audit_key
    done = 0
    start = time.perf_counter()
    with backend.platform.sessions() as session:
        while done < count:
            head = session.execute(
                select(AuditHeadRow.seq, AuditHeadRow.mac)
                .where(AuditHeadRow.id == 1)
                .with_for_update()
            ).one()
            seq, prev = int(head.seq), str(head.mac)
            rows = []
            for _ in range(min(batch, count - done)):
                seq += 1
                body = audit.canonical_json(sample_payload(seq))
                fields = {
                    "seq": seq,
                    "created_at": utcnow(),
                    "actor": "bench",
                    "action": "model.register",
                    "object_type": "model_version",
                    "object_id": f"bench-model:{seq}",
                    "payload_hash": hashlib.sha256(body.encode()).hexdigest(),
                    "prev_hash": prev,
                }
                prev = audit.compute_mac(key, **fields)
                rows.append({**fields, "payload": body, "mac": prev})
            session.execute(insert(AuditEntryRow), rows)
            session.execute(
                update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=seq, mac=prev)
            )
            session.commit()
            done += len(rows)
    return time.perf_counter() - start


def time_runs(run: Callable[[], object], repeats: int) -> list[float]:
    """Time ``run`` ``repeats`` times; return the seconds of each."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def verify_in_process(backend: Backend, expected: int) -> None:
    """Run ``audit.verify`` in a fresh session; fail unless the chain is intact."""
    with backend.platform.sessions() as session:
        result = audit.verify(session, backend.platform.audit_key)
    if not result.ok or result.count != expected:
        raise RuntimeError(f"verify on {backend.name} returned {result}")


def verify_cli(backend: Backend, expected: int) -> None:
    """Run the real ``finai audit verify``; fail unless it reports the whole chain intact."""
    done = subprocess.run(
        [str(BIN / "finai"), "audit", "verify"],
        env=backend.env(),
        cwd=backend.home,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or f"{expected} entries" not in done.stdout:
        raise RuntimeError(f"finai audit verify failed: {done.stdout} {done.stderr}")


@dataclass
class VerifyTiming:
    """Verify timings on one database."""

    backend: str
    entries: int
    fill_rate: float
    in_process: list[float]
    cli: list[float]
    cli_empty: list[float]


def bench_verify(backend: Backend, cli_empty: list[float]) -> VerifyTiming:
    """Fill the chain to ``VERIFY_ENTRIES`` and time verify in-process and by the CLI."""
    missing = VERIFY_ENTRIES - chain_count(backend)
    log(f"verify: filling {backend.name} with {missing:,} entries, {FILL_BATCH:,} per commit")
    fill_s = bulk_append(backend, missing, FILL_BATCH)
    log(f"verify: {backend.name}, in-process x{VERIFY_REPEATS}")
    in_process = time_runs(lambda: verify_in_process(backend, VERIFY_ENTRIES), VERIFY_REPEATS)
    log(f"verify: {backend.name}, CLI x{VERIFY_REPEATS}")
    cli = time_runs(lambda: verify_cli(backend, VERIFY_ENTRIES), VERIFY_REPEATS)
    return VerifyTiming(backend.name, VERIFY_ENTRIES, missing / fill_s, in_process, cli, cli_empty)


def verify_table(results: list[VerifyTiming]) -> str:
    """Render verify timings with entries/s and the 2 s goal."""
    rows = []
    for r in results:
        inproc, cli, empty = median(r.in_process), median(r.cli), median(r.cli_empty)
        rows.append(
            [
                r.backend,
                num(r.entries),
                f"{inproc:.2f} ({min(r.in_process):.2f})",
                num(r.entries / inproc),
                f"{cli:.2f} ({min(r.cli):.2f})",
                f"{empty:.2f}",
                ratio(inproc / VERIFY_GOAL_S),
                "yes" if inproc <= VERIFY_GOAL_S else "**no**",
                "yes" if cli <= VERIFY_GOAL_S else "**no**",
                num(r.fill_rate),
            ]
        )
    return md_table(
        [
            "database",
            "entries",
            "in-process s (best)",
            "entries/s",
            "`finai audit verify` s (best)",
            "CLI, empty chain s",
            "in-process ÷ goal",
            f"≤ {VERIFY_GOAL_S:.0f} s in-process",
            f"≤ {VERIFY_GOAL_S:.0f} s CLI",
            "bulk fill entries/s",
        ],
        rows,
    )


# ---------------------------------------------------------------------------
# The section
# ---------------------------------------------------------------------------


def bench_database(
    backend: Backend, appends: list[AppendResult], verifies: list[VerifyTiming]
) -> None:
    """Run the audit measurements (2 and 3) on one database."""
    log(f"verify: {backend.name}, CLI on the empty chain x{VERIFY_REPEATS}")
    empty = time_runs(lambda: verify_cli(backend, 0), VERIFY_REPEATS)
    appends += bench_append(backend)
    verifies.append(bench_verify(backend, empty))


def versions() -> str:
    """Name the library versions the figures were taken with."""
    names = ("fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "psycopg", "httpx")
    return ", ".join(f"{n} {version(n)}" for n in names)


def main() -> str:
    """Run the three platform benchmarks and return their markdown."""
    appends: list[AppendResult] = []
    verifies: list[VerifyTiming] = []
    with scratch_dir("platform") as work:
        api = bench_api(work)
        with sqlite_backend(work) as lite:
            bench_database(lite, appends, verifies)
        with postgres_backend(work) as pg:
            if pg is not None:
                bench_database(pg, appends, verifies)
    append_notes = (
        f"{APPEND_SINGLE:,} entries one per commit and {APPEND_BATCHED:,} entries"
        f" {APPEND_BATCH} per commit, chain and plain alternating in {APPEND_ROUNDS} rounds."
        " Chain: `audit.append` (UPDATE head … RETURNING, INSERT, UPDATE head, flush) in"
        " one session. Plain: an ORM row of the same columns, types and sizes in a table"
        " of its own with the same index and unique MAC, flushed per row (the statement"
        " pattern of `append` less the head) or at commit (one multi-row INSERT). Chain"
        " cost = plain entries/s ÷ chain entries/s. SQLite runs in WAL mode with FinAI's"
        " engine settings; PostgreSQL is the local server with default settings."
    )
    verify_notes = (
        f"The chain is extended to {VERIFY_ENTRIES:,} entries by a bulk writer that builds"
        " each entry as `audit.append` does but locks the head once per"
        f" {FILL_BATCH:,}-entry transaction and inserts the batch at once (its rate is the"
        " last column, against `append` above). Times are medians (and the best) of"
        f" {VERIFY_REPEATS} runs: in-process `audit.verify` on a fresh session, and the"
        " real `finai audit verify` as a subprocess (wall time including interpreter"
        " start and imports, shown alone by the run on the empty chain)."
    )
    return (
        f"{api}\n"
        "### 2. Audit append throughput: chain vs plain inserts\n\n"
        f"{append_table(appends)}\n\n{append_notes}\n\n"
        f"### 3. `finai audit verify` on {VERIFY_ENTRIES:,} entries (goal ≤ 2 s)\n\n"
        f"{verify_table(verifies)}\n\n{verify_notes}\n\n"
        f"Libraries: {versions()}.\n"
    )
