"""The fraud state store on Redis: sorted sets per card and terminal, Lua for atomic writes.

Keys (``P`` is the store's prefix):

* ``P card:<card_id>`` and ``P terminal:<terminal_id>``: sorted sets of events;
  score is the event time in epoch **microseconds** (UTC; whole numbers stay exact
  in Redis' double scores until the year 2255), member is ``<id> NUL <amount>``
  with the amount written by :func:`repr` (exact round trip), so that events at
  the same time sort by id (UTF-8 bytes sort like code points);
* ``P frauds:<terminal_id>``: sorted set of the terminal's fraud-labelled
  transaction ids, scored like the events;
* ``P tx:<transaction_id>``: hash of where a transaction lives (its terminal key,
  member and fraud key), for labels that arrive later, and to refuse a transaction
  twice; a label counts only while the event is still in its terminal's set;
* ``P result:<transaction_id>``: the first remembered result.

Round trips: :meth:`RedisStore.read`, :meth:`RedisStore.record` and
:meth:`RedisStore.label` are one Lua script each (atomic; the read returns a few
strings, not one reply element per event, since parsing replies dominates);
:meth:`RedisStore.remember` is one ``SET NX GET``. The batched methods
(:meth:`RedisStore.read_many`, :meth:`RedisStore.record_many`,
:meth:`RedisStore.remember_many`) send the same scripts and commands in one pipeline
(not a transaction: each item is atomic, the batch is not), executed in order.
Needs Redis 7 or later, standalone or Sentinel: the scripts touch keys of several
cards and terminals, which Redis Cluster does not allow. Card and terminal ids appear
in key names: pass tokens or surrogate ids, never card numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from itertools import repeat
from typing import overload

import redis

from finai.exceptions import ValidationError
from finai.fraud.state import (
    ReadRequest,
    Recorded,
    Span,
    StateUnavailable,
    StateView,
    StoredEvent,
)

__all__ = ["RedisStore"]

_RECORD = """
-- KEYS: card events, terminal events, terminal frauds, transaction hash
-- ARGV: time (us), member, max lateness (us), trim bound (us, inclusive), ttl (ms, 0: none)
if redis.call('EXISTS', KEYS[4]) == 1 then return 1 end
local t = tonumber(ARGV[1])
local lateness = tonumber(ARGV[3])
for i = 1, 2 do
  local newest = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  if #newest > 0 and t < tonumber(newest[2]) - lateness then return 2 end
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
for i = 1, 3 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[4]) end
redis.call('HSET', KEYS[4], 'terminal', KEYS[2], 'member', ARGV[2], 'frauds', KEYS[3])
local ttl = tonumber(ARGV[5])
if ttl > 0 then
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 0
"""

_LABEL = """
-- KEYS: transaction hash; ARGV: '1' fraud or '0' genuine, transaction id, ttl (ms, 0: none)
local where = redis.call('HMGET', KEYS[1], 'terminal', 'member', 'frauds')
if not where[1] then return 0 end
local time = redis.call('ZSCORE', where[1], where[2])
if not time then return 0 end
if ARGV[1] == '1' then
  redis.call('ZADD', where[3], time, ARGV[2])
  local ttl = tonumber(ARGV[3])
  if ttl > 0 then redis.call('PEXPIRE', where[3], ttl) end
else
  redis.call('ZREM', where[3], ARGV[2])
end
return 1
"""

_READ = """
-- KEYS: card events, terminal events, terminal frauds
-- ARGV: card span (after, until], terminal span (after, until] (us)
-- Returns five strings: card and terminal events as id NUL amount NUL time NUL ...,
-- fraud ids NUL-separated, newest card and terminal times ('' when none). One string
-- per list keeps the client's reply parsing cheap.
local function span(key, after, until_)
  return table.concat(
    redis.call('ZRANGE', key, '(' .. after, until_, 'BYSCORE', 'WITHSCORES'), '\\0')
end
local function newest(key)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  return last[2] or ''
end
local frauds = redis.call('ZRANGE', KEYS[3], '(' .. ARGV[3], ARGV[4], 'BYSCORE')
return {
  span(KEYS[1], ARGV[1], ARGV[2]), span(KEYS[2], ARGV[3], ARGV[4]),
  table.concat(frauds, '\\0'), newest(KEYS[1]), newest(KEYS[2]),
}
"""

_OUTCOMES = {0: Recorded.ADDED, 1: Recorded.DUPLICATE, 2: Recorded.TOO_LATE}


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise TypeError(f"unexpected Redis reply {type(value).__name__}")


_new_tuple = tuple.__new__


def _events(text: str) -> tuple[StoredEvent, ...]:
    """Events from ``id NUL amount NUL time NUL ...`` (members hold ``id NUL amount``).

    Built column by column, without a Python call per event: a read returns a month
    of a card's and a terminal's events, and parsing them is most of a read's cost.
    """
    if not text:
        return ()
    parts = text.split("\0")
    times = map(int, map(float, parts[2::3]))
    rows = zip(parts[0::3], times, map(float, parts[1::3]), strict=True)
    return tuple(map(_new_tuple, repeat(StoredEvent), rows))


def _newest(reply: object) -> int | None:
    text = _text(reply)
    return int(float(text)) if text else None


def _view(reply: Sequence[object]) -> StateView:
    """Return the view a read script's reply describes."""
    card, terminal, fraud_ids, card_newest, terminal_newest = reply
    terminal_text = _text(terminal)
    fraud_text = _text(fraud_ids)
    frauds: frozenset[str] = frozenset()
    if fraud_text and terminal_text:  # labels of events in the span only
        frauds = frozenset(fraud_text.split("\0")).intersection(terminal_text.split("\0")[0::3])
    return StateView(
        card=_events(_text(card)),
        terminal=_events(terminal_text),
        frauds=frauds,
        card_newest_us=_newest(card_newest),
        terminal_newest_us=_newest(terminal_newest),
    )


class _Views(Sequence[StateView]):
    """The views of read replies, each parsed when accessed (and not kept).

    A read brings a month of a card's and a terminal's events, a hundred objects or
    so. Parsed all at once, a batch's would live together long enough for the garbage
    collector to scan and promote them all (about a third of the stream consumer's CPU
    time in the benchmark); parsed one at a time, they die young.
    """

    __slots__ = ("_replies",)

    def __init__(self, replies: list[Sequence[object]]) -> None:
        self._replies = replies

    def __len__(self) -> int:
        return len(self._replies)

    @overload
    def __getitem__(self, index: int) -> StateView: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[StateView]: ...

    def __getitem__(self, index: int | slice) -> StateView | Sequence[StateView]:
        if isinstance(index, slice):
            return [_view(reply) for reply in self._replies[index]]
        return _view(self._replies[index])


def _milliseconds(ttl: timedelta | None, name: str) -> int:
    if ttl is None:
        return 0
    if ttl < timedelta(milliseconds=1):
        raise ValidationError(f"{name} must be at least one millisecond", field=name)
    return ttl // timedelta(milliseconds=1)


@contextmanager
def _reachable() -> Iterator[None]:
    """Turn a connection failure or timeout into :class:`StateUnavailable`."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StateUnavailable(f"Redis is unreachable ({type(exc).__name__})") from exc


class RedisStore:
    """A :class:`~finai.fraud.state.StateStore` in Redis, shared by all scoring processes.

    Parameters
    ----------
    client
        A Redis client (``decode_responses`` either way). It is thread-safe, and so
        is the store.
    prefix
        Prefix of every key the store writes.
    ttl
        Keys of a card, terminal or transaction not written for this long (wall
        clock) expire; ``None`` keeps them until trimmed. Must exceed the feature
        retention (38 days by default) so that expiry only reclaims idle cards and
        terminals.
    result_ttl
        How long a remembered result is kept, so that retries within it get the
        first result.

    Raises
    ------
    ValidationError
        When the prefix is empty or a ttl is shorter than a millisecond.

    Examples
    --------
    >>> store = RedisStore(redis.Redis(), prefix="finai:fraud:")  # doctest: +SKIP
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "finai:fraud:",
        *,
        ttl: timedelta | None = timedelta(days=60),
        result_ttl: timedelta = timedelta(days=7),
    ) -> None:
        if not prefix:
            raise ValidationError("prefix must not be empty", field="prefix")
        self.client = client
        self.prefix = prefix
        self._ttl_ms = _milliseconds(ttl, "ttl")
        self._result_ttl_ms = _milliseconds(result_ttl, "result_ttl")
        self._read = client.register_script(_READ)
        self._record = client.register_script(_RECORD)
        self._label = client.register_script(_LABEL)

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    def _read_call(self, request: ReadRequest) -> tuple[list[str], list[int]]:
        card_id, terminal_id, card_span, terminal_span = request
        keys = [
            self._key("card", card_id),
            self._key("terminal", terminal_id),
            self._key("frauds", terminal_id),
        ]
        args = [
            card_span.after_us,
            card_span.until_us,
            terminal_span.after_us,
            terminal_span.until_us,
        ]
        return keys, args

    def read(
        self, card_id: str, terminal_id: str, *, card_span: Span, terminal_span: Span
    ) -> StateView:
        """Read a card's and a terminal's events in their spans, in one round trip.

        See :meth:`finai.fraud.state.StateStore.read`.
        """
        keys, args = self._read_call(ReadRequest(card_id, terminal_id, card_span, terminal_span))
        with _reachable():
            reply = self._read(keys=keys, args=args)
        return _view(reply)

    def read_many(self, reads: Sequence[ReadRequest]) -> Sequence[StateView]:
        """Make several reads in one pipeline (one round trip).

        See :meth:`finai.fraud.state.StateStore.read_many`. Each view is parsed from
        the replies when it is accessed.
        """
        if not reads:
            return []
        pipe = self.client.pipeline(transaction=False)
        for request in reads:
            keys, args = self._read_call(request)
            self._read(keys=keys, args=args, client=pipe)
        with _reachable():
            replies = pipe.execute()
        return _Views(replies)

    def _record_call(
        self,
        card_id: str,
        terminal_id: str,
        event: StoredEvent,
        retention_us: int,
        max_lateness_us: int,
    ) -> tuple[list[str], list[str | int]]:
        if "\0" in event.transaction_id:
            raise ValidationError("transaction_id must not hold NUL", field="transaction_id")
        keys = [
            self._key("card", card_id),
            self._key("terminal", terminal_id),
            self._key("frauds", terminal_id),
            self._key("tx", event.transaction_id),
        ]
        args: list[str | int] = [
            event.time_us,
            f"{event.transaction_id}\0{event.amount!r}",
            max_lateness_us,
            event.time_us - retention_us,
            self._ttl_ms,
        ]
        return keys, args

    def record(
        self,
        card_id: str,
        terminal_id: str,
        event: StoredEvent,
        *,
        retention_us: int,
        max_lateness_us: int,
    ) -> Recorded:
        """Add an event to its card and terminal, in one atomic round trip.

        See :meth:`finai.fraud.state.StateStore.record`.

        Raises
        ------
        ValidationError
            When the transaction id holds a NUL character (the members' separator).
        """
        keys, args = self._record_call(card_id, terminal_id, event, retention_us, max_lateness_us)
        with _reachable():
            return _OUTCOMES[int(self._record(keys=keys, args=args))]

    def record_many(
        self,
        events: Sequence[tuple[str, str, StoredEvent]],
        *,
        retention_us: int,
        max_lateness_us: int,
    ) -> list[Recorded]:
        """Record several events in order, in one pipeline (one round trip).

        See :meth:`finai.fraud.state.StateStore.record_many`.

        Raises
        ------
        ValidationError
            When a transaction id holds a NUL character; nothing is sent then.
        """
        if not events:
            return []
        calls = [
            self._record_call(card_id, terminal_id, event, retention_us, max_lateness_us)
            for card_id, terminal_id, event in events
        ]
        pipe = self.client.pipeline(transaction=False)
        for keys, args in calls:
            self._record(keys=keys, args=args, client=pipe)
        with _reachable():
            replies = pipe.execute()
        return [_OUTCOMES[int(reply)] for reply in replies]

    def label(self, transaction_id: str, is_fraud: bool) -> bool:
        """Set the fraud label of a recorded transaction, in one atomic round trip.

        See :meth:`finai.fraud.state.StateStore.label`.
        """
        keys = [self._key("tx", transaction_id)]
        args: list[str | int] = ["1" if is_fraud else "0", transaction_id, self._ttl_ms]
        with _reachable():
            return int(self._label(keys=keys, args=args)) == 1

    def remember(self, transaction_id: str, payload: str) -> str | None:
        """Keep the first result for a transaction id (one ``SET NX GET``).

        See :meth:`finai.fraud.state.StateStore.remember`.
        """
        key = self._key("result", transaction_id)
        with _reachable():
            first = self.client.set(key, payload, nx=True, get=True, px=self._result_ttl_ms)
        return None if first is None else _text(first)

    def remember_many(self, results: Sequence[tuple[str, str]]) -> list[str | None]:
        """Keep the first results of several ids, in one pipeline of ``SET NX GET``.

        See :meth:`finai.fraud.state.StateStore.remember_many`.
        """
        if not results:
            return []
        pipe = self.client.pipeline(transaction=False)
        for transaction_id, payload in results:
            key = self._key("result", transaction_id)
            pipe.set(key, payload, nx=True, get=True, px=self._result_ttl_ms)
        with _reachable():
            replies = pipe.execute()
        return [None if first is None else _text(first) for first in replies]
