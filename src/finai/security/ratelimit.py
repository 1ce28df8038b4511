"""Rate limits per API key: the generic cell rate algorithm, in Redis or in one process.

GCRA keeps one number per key, the *theoretical arrival time* (TAT) of the next
request: each request moves it on by the emission interval ``1 / rate``, and a request
is refused while the TAT lies more than ``burst`` intervals ahead of now. So a key may
send ``burst`` requests at once, then ``rate`` a second, and a refusal says exactly how
long to wait. In Redis the check-and-update is one Lua script (atomic, the server's
clock), so every process behind a load balancer shares the same limit.

If Redis cannot be reached the limiter **falls back to a per-process limit** instead
of failing: requests keep being served (a limiter outage does not become a service
outage) and each process still enforces the limit on its own share, so the total
stays bounded by ``processes x rate``. The fall-back is logged once per outage.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from finai.exceptions import RateLimited

logger = logging.getLogger(__name__)

REDIS_PREFIX = "finai:ratelimit:"
RETRY_SECONDS = 5.0

_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat + interval - tolerance
if allow_at > now then return allow_at - now end
local ttl = math.ceil((tat + interval - now) / 1000) + 1
redis.call('SET', KEYS[1], tat + interval, 'PX', ttl)
return 0
"""


@dataclass(frozen=True)
class Limit:
    """``rate`` requests a second on average, ``burst`` at once."""

    rate: float
    burst: int

    @property
    def interval_us(self) -> int:
        """Microseconds between requests at the steady rate."""
        return max(1, round(1_000_000 / self.rate))

    @property
    def tolerance_us(self) -> int:
        """How far ahead of now the TAT may run before requests are refused."""
        return self.interval_us * self.burst


class Limiter(Protocol):
    """Counts a request against a name and says how long to wait (0: go ahead)."""

    def wait(self, name: str) -> float:
        """Record a request for ``name``; return 0.0 if allowed, else seconds to wait."""
        ...


class MemoryLimiter:
    """GCRA in this process (tests, a single process, and the fall-back of Redis)."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self._tat: dict[str, int] = {}
        self._lock = threading.Lock()

    def wait(self, name: str) -> float:
        """Record a request for ``name``; return 0.0 if allowed, else seconds to wait."""
        now = time.monotonic_ns() // 1000
        interval, tolerance = self.limit.interval_us, self.limit.tolerance_us
        with self._lock:
            tat = max(self._tat.get(name, now), now)
            allow_at = tat + interval - tolerance
            if allow_at > now:
                return (allow_at - now) / 1_000_000
            self._tat[name] = tat + interval
            if len(self._tat) > 100_000:  # forget keys whose TAT has passed
                self._tat = {k: v for k, v in self._tat.items() if v > now}
        return 0.0


class RedisLimiter:
    """GCRA in Redis, shared by every process; per-process when Redis is unreachable."""

    def __init__(self, client: Any, limit: Limit, *, prefix: str) -> None:
        self.limit = limit
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA)
        self._fallback = MemoryLimiter(limit)
        self._degraded = False
        self._retry_at = 0.0

    def wait(self, name: str) -> float:
        """Record a request for ``name``; return 0.0 if allowed, else seconds to wait.

        After a failure Redis is tried again only every :data:`RETRY_SECONDS`, so an
        outage costs one timeout now and then, not one per request.
        """
        from redis.exceptions import RedisError

        if self._degraded and time.monotonic() < self._retry_at:
            return self._fallback.wait(name)
        try:
            waited = self._script(
                keys=[f"{self._prefix}{name}"],
                args=[self.limit.interval_us, self.limit.tolerance_us],
            )
        except RedisError as exc:
            self._retry_at = time.monotonic() + RETRY_SECONDS
            if not self._degraded:
                logger.warning(
                    "rate limits fall back to this process: Redis is unreachable",
                    extra={"error": type(exc).__name__},
                )
                self._degraded = True
            return self._fallback.wait(name)
        if self._degraded:
            logger.info("rate limits are shared through Redis again")
            self._degraded = False
        return int(waited) / 1_000_000


def check(limiter: Limiter | None, name: str) -> None:
    """Raise :class:`RateLimited` when ``name`` is over its limit (``None``: no limit)."""
    if limiter is None:
        return
    waited = limiter.wait(name)
    if waited > 0:
        seconds = math.ceil(waited)
        raise RateLimited(f"rate limit exceeded; retry after {seconds} s", retry_after=seconds)


def make_limiter(redis_url: str | None, rate: float, burst: int) -> Limiter | None:
    """Return the limiter settings ask for: none at rate 0, Redis when configured, else memory."""
    if rate <= 0:
        return None
    limit = Limit(rate=rate, burst=max(1, burst))
    if redis_url is None:
        return MemoryLimiter(limit)
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return RedisLimiter(client, limit, prefix=REDIS_PREFIX)
