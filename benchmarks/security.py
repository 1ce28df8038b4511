"""Security: the cost of sealing personal data and of rate limits, and a mixed load test.

1. Encryption overhead per decision: the same applicants decided and stored
   in-process (SQLite), with and without sealing their personal data (a data key per
   person, wrapped under the key file's KEK), in alternating rounds.
2. Rate limit cost per request: the GCRA check in Redis against a bare Redis ``PING``
   (one round trip, the floor) and the in-process limiter.
3. Load: ``uvicorn --workers 2`` on PostgreSQL with Redis state, six client threads
   sending credit decisions and fraud scores for a fixed time: requests a second,
   p50/p99 latency per kind and errors.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks._common import (
    finai_cli,
    finai_env,
    log,
    md_table,
    num,
    percentile,
    ratio,
    scratch_dir,
    uvicorn_server,
)
from finai import credit
from finai.config import Settings
from finai.context import Platform
from finai.datasets import make_loan_book
from finai.security import Role, create_key
from finai.security.ratelimit import Limit, MemoryLimiter, RedisLimiter
from finai.store import upgrade

ROUNDS = 6
PER_ROUND = 60
PG_URL = os.environ.get("FINAI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
REDIS_URL = os.environ.get("FINAI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
LOAD_SECONDS = 20.0
THREADS = 6


def _person(i: int) -> dict[str, Any]:
    return {
        "national_id": f"BENCH-{i:08d}",
        "name": f"Applicant {i}",
        "address": f"{i} Bench Street",
        "email": f"a{i}@example.org",
    }


def _encryption(work: Path) -> tuple[str, dict[str, float]]:
    settings = Settings(
        environment="test",
        home=work / "home",
        database_url=f"sqlite:///{work / 'enc.db'}",
        secret_key=SecretStr("bench-" + "s" * 40),
    )
    upgrade(settings.db_url)
    platform = Platform(settings)
    book = make_loan_book(3_000, seed=5)
    result = credit.train(book.frame, book.spec, algorithm="scorecard", seed=5, folds=3)
    with platform.sessions() as session:
        credit.save_policy(session, platform.audit_key, text=credit.DEFAULT_POLICY, actor="b")
        version = credit.register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name="bench",
            result=result,
            data=book.frame,
            actor="b",
        )
        session.commit()
    ref = f"bench:{version.version}"
    decider = credit.Decider(platform.artifact_dir)
    rows = [
        {k: (None if v != v else v) for k, v in row.items()}
        for row in book.frame.to_dict(orient="records")
    ]
    plain: list[float] = []
    sealed: list[float] = []
    counter = 0

    def decide(with_personal: bool) -> float:
        nonlocal counter
        counter += 1
        started = time.perf_counter()
        with platform.sessions() as session:
            decision = decider.decide_row_and_record(
                session, platform.audit_key, rows[counter % len(rows)], model_ref=ref, actor="b"
            )
            if with_personal:
                credit.store_personal(
                    session, platform.vault, decision_id=decision.id, personal=_person(counter)
                )
            session.commit()
        return time.perf_counter() - started

    for _ in range(20):  # warm the model cache and the page cache
        decide(False)
    for _ in range(ROUNDS):
        plain += [decide(False) for _ in range(PER_ROUND)]
        sealed += [decide(True) for _ in range(PER_ROUND)]
    platform.close()
    p, s = statistics.median(plain), statistics.median(sealed)
    table = md_table(
        ["decision, stored (SQLite)", "p50 ms", "p99 ms", "vs without"],
        [
            [
                "without personal data",
                num(p * 1000, 2),
                num(percentile(plain, 99) * 1000, 2),
                "1.00x",
            ],
            [
                "with personal data sealed",
                num(s * 1000, 2),
                num(percentile(sealed, 99) * 1000, 2),
                ratio(s / p),
            ],
        ],
    )
    return table, {"plain": p, "sealed": s}


def _time(call: Callable[[], object], n: int) -> list[float]:
    taken = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        taken.append(time.perf_counter() - started)
    return taken


def _rate_limits() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"finai:bench:{uuid.uuid4().hex}:"
    limit = Limit(rate=1e9, burst=1_000_000)
    shared = RedisLimiter(client, limit, prefix=prefix)
    local = MemoryLimiter(limit)
    try:
        ping = _time(client.ping, 3_000)
        gcra = _time(lambda: shared.wait("k"), 3_000)
        memory = _time(lambda: local.wait("k"), 3_000)
    finally:
        client.delete(f"{prefix}k")
    floor = statistics.median(ping)
    rows = [
        [
            "Redis `PING` (one round trip)",
            num(floor * 1e6),
            num(percentile(ping, 99) * 1e6),
            "1.00x",
        ],
        [
            "FinAI GCRA in Redis (Lua script)",
            num(statistics.median(gcra) * 1e6),
            num(percentile(gcra, 99) * 1e6),
            ratio(statistics.median(gcra) / floor),
        ],
        [
            "FinAI GCRA in process (fall-back)",
            num(statistics.median(memory) * 1e6, 1),
            num(percentile(memory, 99) * 1e6, 1),
            ratio(statistics.median(memory) / floor),
        ],
    ]
    return md_table(["per request", "p50 µs", "p99 µs", "vs PING"], rows)


def _load(work: Path) -> str:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"finai_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    prefix = f"finai:bench:{uuid.uuid4().hex}:"
    try:
        env = {
            **finai_env(work / "home", url),
            "FINAI_REDIS_URL": REDIS_URL,
            "FINAI_REDIS_PREFIX": prefix,
        }
        log("security: finai init (demo models) on PostgreSQL")
        finai_cli(env, work, "init")
        settings = Settings(
            environment="test",
            home=work / "home",
            database_url=url,
            secret_key=SecretStr(env["FINAI_SECRET_KEY"]),
        )
        platform = Platform(settings)
        with platform.sessions() as session:
            _key, token = create_key(
                session, platform.audit_key, name="load", role=Role.OPERATOR, actor="b"
            )
            session.commit()
        platform.close()
        latencies: dict[str, list[float]] = {"credit": [], "fraud": []}
        errors: dict[str, int] = {"credit": 0, "fraud": 0}
        lock = threading.Lock()
        rows = [
            {k: (None if v != v else v) for k, v in row.items()}
            for row in make_loan_book(200, seed=9).frame.to_dict(orient="records")
        ]

        def drive(worker: int, base: str, stop: float) -> None:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as client:
                i = 0
                while time.monotonic() < stop:
                    i += 1
                    if i % 2:
                        kind, path = "credit", "/v1/credit/decisions"
                        body: dict[str, Any] = {
                            "model": "credit-demo",
                            "applicant": rows[(worker * 31 + i) % len(rows)],
                        }
                    else:
                        kind, path = "fraud", "/v1/fraud/score"
                        body = {
                            "transaction_id": f"w{worker}-{i}",
                            "timestamp": datetime.now(UTC).isoformat(),
                            "customer_id": f"c{(worker * 7 + i) % 200}",
                            "terminal_id": f"t{i % 50}",
                            "amount": 10.0 + (i * 37) % 500,
                        }
                    started = time.perf_counter()
                    try:
                        answer = client.post(path, json=body)
                        ok = answer.status_code < 300
                    except httpx.TransportError:
                        ok = False
                    taken = time.perf_counter() - started
                    with lock:
                        if ok:
                            latencies[kind].append(taken)
                        else:
                            errors[kind] += 1

        with uvicorn_server(
            "finai.api:create_app", factory=True, env=env, work=work, workers=2
        ) as base:
            time.sleep(10)  # let the second worker start and load the models
            log(f"security: load for {LOAD_SECONDS:.0f} s with {THREADS} clients")
            stop = time.monotonic() + LOAD_SECONDS
            threads = [threading.Thread(target=drive, args=(w, base, stop)) for w in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        rows_out = []
        for kind in ("credit", "fraud"):
            values = latencies[kind]
            rows_out.append(
                [
                    "credit decision" if kind == "credit" else "fraud score",
                    num(len(values) / LOAD_SECONDS, 1),
                    num(statistics.median(values) * 1000, 1) if values else "-",
                    num(percentile(values, 99) * 1000, 1) if values else "-",
                    str(errors[kind]),
                ]
            )
        return md_table(["request", "answered / s", "p50 ms", "p99 ms", "errors"], rows_out)
    finally:
        state = redis.Redis.from_url(REDIS_URL)
        leftovers = list(state.scan_iter(match=f"{prefix}*", count=1000))
        if leftovers:
            state.delete(*leftovers)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> str:
    """Run the three measurements and return the section's markdown."""
    with scratch_dir("security") as work:
        log("security: encryption overhead per decision")
        encryption, medians = _encryption(work)
        log("security: rate limit cost")
        limits = _rate_limits()
        load = _load(work)
    extra_ms = (medians["sealed"] - medians["plain"]) * 1000
    return f"""Sealing an applicant's personal data (`finai.credit.store_personal`: find or create
the person's data key by blind index, AES-GCM, one more row) beside an in-process
credit decision that is stored and audited, {ROUNDS} alternating rounds of
{PER_ROUND} decisions each, one commit per decision on SQLite:

{encryption}

Sealing adds {extra_ms:.2f} ms (median) to a stored decision: a data-key lookup, a new
wrapped key for a new person, and the sealed row.

Rate limits: what a request pays for the check, 3,000 calls each, against a bare round
trip to the same Redis:

{limits}

Load: `uvicorn --workers 2` on PostgreSQL, Redis state, rate limits off (one key drives
the load), {THREADS} client threads on the same machine sending credit decisions and
fraud scores alternately for {LOAD_SECONDS:.0f} s (the clients share the 2 cores with
the server, so these are lower bounds):

{load}
"""
