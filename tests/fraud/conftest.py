"""Fraud fixtures: both state stores, Redis for real (see ``tests.conftest``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from finai.fraud.state import MemoryStore, StateStore
from finai.fraud.state_redis import RedisStore
from tests.conftest import drop_keys, unique_prefix


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
