"""Shared fixtures: real SQLite and PostgreSQL databases, a platform, keys and clients.

Store and API tests run on both databases. PostgreSQL is the local server (override
with ``FINAI_TEST_POSTGRES_URL``); each run creates a database of its own and drops it
afterwards. State tests use the local Redis (override with ``FINAI_TEST_REDIS_URL``),
each under a key prefix of its own. Without either server its cases skip locally and
fail in CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect, sync_playwright
from pydantic import SecretStr
from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from finai import credit
from finai.api import create_app
from finai.config import Settings
from finai.context import Platform
from finai.credit.training import TrainResult
from finai.datasets import LoanBook, make_loan_book
from finai.security import Role, create_key
from finai.security.audit import GENESIS
from finai.store import AuditHeadRow, Base, upgrade
from tests.factories import promote

PG_URL = os.environ.get(
    "FINAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_SECRET = "test-secret-" + "x" * 40


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_TIMEOUT_MS = 30_000
"""How long a browser test waits for a page or an assertion: CI machines are slow, and the
first page with a chart loads plotly.js (about 4.6 MB) before its body is parsed."""


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run."""
    admin_url = make_url(PG_URL)
    name = f"finai_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        _unavailable(str(exc.orig))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database file for this test run."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'finai.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs once per database."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


def make_platform(db_url: str, home: Path) -> Platform:
    """A platform on ``db_url`` with its home (artifacts) in ``home``."""
    settings = Settings(
        environment="test",
        home=home,
        database_url=db_url,
        secret_key=SecretStr(TEST_SECRET),
        rate_limit=0,  # tests/api/test_rate_limits.py turns it on
    )
    return Platform(settings)


def wipe(platform: Platform) -> None:
    """Empty every table and reset the audit head, leaving the schema."""
    with platform.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table is not AuditHeadRow.__table__:
                conn.execute(delete(table))
        conn.execute(update(AuditHeadRow).values(seq=0, mac=GENESIS))


@pytest.fixture
def platform(db_url: str, tmp_path: Path) -> Iterator[Platform]:
    """A platform on a clean database (per test, per backend)."""
    value = make_platform(db_url, tmp_path / "home")
    wipe(value)
    yield value
    wipe(value)
    value.close()


@pytest.fixture
def tokens(platform: Platform) -> dict[Role, str]:
    """One active key per role, by role."""
    made: dict[Role, str] = {}
    with platform.sessions() as session:
        for role in Role:
            _key, token = create_key(
                session, platform.audit_key, name=f"test {role.value}", role=role, actor="test"
            )
            made[role] = token
        session.commit()
    return made


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    """The app in-process, over the test platform."""
    with TestClient(create_app(platform)) as test_client:
        yield test_client


def auth(token: str) -> dict[str, str]:
    """Headers that present ``token``."""
    return {"Authorization": f"Bearer {token}"}


MODEL = "pd-test"


@pytest.fixture(scope="session")
def book() -> LoanBook:
    return make_loan_book(3_000, seed=11, bad_rate=0.12)


@pytest.fixture(scope="session")
def trained(book: LoanBook) -> TrainResult:
    return credit.train(book.frame, book.spec, algorithm="auto", seed=3, folds=3)


@pytest.fixture
def credit_platform(platform: Platform, trained: TrainResult, book: LoanBook) -> Platform:
    """A platform with the default policy and ``pd-test`` v1 as champion."""
    with platform.sessions() as session:
        credit.save_policy(session, platform.audit_key, text=credit.DEFAULT_POLICY, actor="t")
        version = credit.register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=MODEL,
            result=trained,
            data=book.frame,
            actor="t",
        )
        promote(session, platform, name=MODEL, version=version.version)
        session.commit()
    return platform


REDIS_URL = os.environ.get("FINAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"Redis is required in CI: {reason}")
    pytest.skip(f"Redis not available: {reason}")


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    """A client of the test Redis server."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        _redis_unavailable(str(exc))
    yield client
    client.close()


def unique_prefix() -> str:
    """A key prefix no other test uses."""
    return f"finai:test:{uuid.uuid4().hex}:"


def drop_keys(client: redis.Redis, prefix: str) -> None:
    """Delete every key under ``prefix``."""
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless system Chromium (never a downloaded one); in CI its absence fails the run."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
