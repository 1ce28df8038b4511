"""Fraud fixtures: both state stores, Redis for real.

Redis is the local server (override with ``FINAI_TEST_REDIS_URL``). Every Redis
store writes under a prefix of its own, and its keys are deleted afterwards, so runs
can share the server. Without the server the Redis cases skip locally and fail in CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from finai.fraud.state import MemoryStore, StateStore
from finai.fraud.state_redis import RedisStore
from tests.conftest import IN_CI

REDIS_URL = os.environ.get("FINAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _unavailable(reason: str) -> None:
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
        _unavailable(str(exc))
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


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    """Each test that takes this runs once per store; a Redis store on a fresh prefix."""
    if request.param == "memory":
        yield MemoryStore()
        return
    client: redis.Redis = request.getfixturevalue("redis_client")
    prefix = unique_prefix()
    yield RedisStore(client, prefix=prefix)
    drop_keys(client, prefix)
