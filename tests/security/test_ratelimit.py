from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from finai.exceptions import RateLimited
from finai.security.ratelimit import Limit, MemoryLimiter, RedisLimiter, check, make_limiter
from tests.conftest import drop_keys, unique_prefix


def test_limit_intervals() -> None:
    limit = Limit(rate=4, burst=3)
    assert (limit.interval_us, limit.tolerance_us) == (250_000, 750_000)


def test_memory_limiter_allows_the_burst_then_says_how_long_to_wait() -> None:
    limiter = MemoryLimiter(Limit(rate=1, burst=3))
    assert [limiter.wait("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    waited = limiter.wait("k")
    assert 0.9 < waited <= 1.0
    assert limiter.wait("other") == 0.0  # keys are counted apart


def test_check_raises_with_whole_seconds_to_wait() -> None:
    limiter = MemoryLimiter(Limit(rate=0.5, burst=1))
    check(limiter, "k")
    with pytest.raises(RateLimited) as caught:
        check(limiter, "k")
    assert caught.value.retry_after == 2
    check(None, "k")  # no limiter, no limit


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    value = unique_prefix()
    yield value
    drop_keys(redis_client, value)


def test_redis_limiter_is_shared_between_processes(redis_client: redis.Redis, prefix: str) -> None:
    one = RedisLimiter(redis_client, Limit(rate=1, burst=2), prefix=prefix)
    other = RedisLimiter(redis_client, Limit(rate=1, burst=2), prefix=prefix)
    assert one.wait("k") == 0.0
    assert other.wait("k") == 0.0
    assert 0.5 < one.wait("k") <= 1.0
    ttl = redis_client.pttl(f"{prefix}k")
    assert 0 < int(ttl) <= 2_100  # the state expires once it no longer matters


def test_redis_outage_falls_back_to_this_process(caplog: pytest.LogCaptureFixture) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = RedisLimiter(dead, Limit(rate=1, burst=2), prefix="finai:test:dead:")
    assert limiter.wait("k") == 0.0
    assert limiter.wait("k") == 0.0
    assert limiter.wait("k") > 0  # still limited, per process
    assert "fall back to this process" in caplog.text


def test_make_limiter() -> None:
    assert make_limiter(None, 0, 10) is None
    assert isinstance(make_limiter(None, 5, 10), MemoryLimiter)
    assert isinstance(make_limiter("redis://127.0.0.1:6379/0", 5, 10), RedisLimiter)
