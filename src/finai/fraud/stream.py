"""Score transactions from a Redis Stream: at least once, idempotent per transaction id.

Message contract
----------------
Input, stream ``finai:fraud:transactions`` (:func:`publish` writes it), one entry per
transaction, UTF-8 text fields:

* ``transaction_id``, ``customer_id``, ``terminal_id``: ids, at most 128 printable
  characters (tokens, never card numbers);
* ``timestamp``: ISO 8601 date-time (naive = UTC);
* ``amount``: a finite number ``>= 0``.

Other fields are ignored (and kept in dead letters); ``reason``, ``field`` and
``message_id`` are overwritten there.

The consumer group ``finai-fraud`` is created at the start of the stream (``0``) when
missing, so a new deployment scores what is already there. Each consumer of the group
first re-reads its own pending messages (those it read before a crash), then claims
(``XAUTOCLAIM``) messages left pending by other consumers for longer than
``claim_idle_ms``, then reads new ones.

Output, stream ``finai:fraud:scores``, one entry per scored message: ``transaction_id``,
``score`` (in [0, 1]), ``action`` (``allow`` / ``review`` / ``block``), ``reasons``
(JSON list of ``{feature, value, contribution}``, strongest first; empty for ``allow``
unless :attr:`StreamConfig.explain`), ``model_name``,
``model_version``, ``degraded`` (always ``0``: see below), ``replayed`` (``1`` when
this is the remembered first answer of a transaction id seen before), ``scored_at``
(ISO 8601, UTC) and ``message_id`` (the input entry).

Dead letters, stream ``finai:fraud:dead``: the input entry's fields plus ``reason``
(the message safe to show), ``field`` (the bad field, empty when none) and
``message_id``. A message goes there when it is not UTF-8, a field is missing or
invalid (empty id, unparsable timestamp, negative or non-finite amount), or the
transaction is older than the newest event of its card or terminal by more than the
scorer's ``max_lateness`` (the state's horizon); the consumer goes on.

Delivery rules
--------------
A batch is read, parsed and scored (:meth:`FraudScorer.score_batch
<finai.fraud.scoring.FraudScorer.score_batch>`: the state store records each
transaction and remembers its first answer, in a few round trips), then its new
scores and alerts are stored in one database transaction
(:func:`finai.fraud.records.save_scores`), then its results and dead letters are
written and the batch acknowledged in one Redis ``MULTI``. A
crash anywhere before that leaves the batch pending; whoever reads it again gets the
remembered answers (``replayed``), the state counts each transaction once and the
database stores each id once. Hence:

* duplicate transaction ids (a producer's retry, or a redelivery) are scored once:
  the repeat's output is the first answer with ``replayed=1``, nothing is stored or
  counted again;
* the output holds one entry per input message, except when two consumers both
  process a message (one claimed it from the other after ``claim_idle_ms``), so
  readers of the output key on ``transaction_id``;
* the stream never scores degraded: when the state store is down the batch stays
  pending and :meth:`Consumer.run` retries it after ``retry_ms``, so no transaction
  misses the state.
"""

from __future__ import annotations

import json
import logging
import numbers
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, cast

import redis
from redis.typing import EncodableT
from sqlalchemy.orm import Session

from finai.exceptions import Conflict, ValidationError
from finai.fraud.records import save_scores
from finai.fraud.scoring import FraudScorer, ScoreResult, Transaction
from finai.fraud.state import StateUnavailable

__all__ = [
    "DEAD_STREAM",
    "GROUP",
    "INPUT_STREAM",
    "OUTPUT_STREAM",
    "ConsumeStats",
    "Consumer",
    "ScorerSource",
    "StreamConfig",
    "publish",
]

logger = logging.getLogger(__name__)

INPUT_STREAM = "finai:fraud:transactions"
"""Where producers add transactions."""
GROUP = "finai-fraud"
"""The consumer group of the scoring consumers."""
OUTPUT_STREAM = "finai:fraud:scores"
"""Where the consumers add results."""
DEAD_STREAM = "finai:fraud:dead"
"""Where the consumers add the messages they cannot score, with the reason."""

_ACTOR = 32  # width of the actor columns
_RESERVED = (b"reason", b"field", b"message_id")
_TRANSIENT = (StateUnavailable, redis.ConnectionError, redis.TimeoutError)

_Fields = Mapping[bytes | str, bytes | str]
_Entry = tuple[str, _Fields]
_Record = dict[EncodableT, EncodableT]  # what XADD takes


def _default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class StreamConfig:
    """Where a consumer reads and writes, and how it batches.

    Attributes
    ----------
    stream, group, output, dead
        The input stream, the consumer group, the output and dead-letter streams.
    consumer
        This consumer's name in the group, stable across restarts of one process
        slot so that it resumes its own pending messages (default ``host-pid``).
    batch
        Most messages read and stored per batch.
    block_ms
        How long a read waits for new messages (also how soon a stop is noticed).
    claim_idle_ms
        Messages pending this long with another consumer (one that died) are taken
        over; also how often the consumer looks for them.
    retry_ms
        Wait before retrying a batch after the state store or Redis was unreachable.
    maxlen
        The output and dead-letter streams are trimmed to about this many entries;
        ``None`` keeps everything.
    explain
        Give reasons for allow results too, as ``FraudScorer.score(explain=True)``.
        Off by default: reasons explain alerts, and computing them (TreeSHAP, one to
        two milliseconds a row for a boosted model) costs more than the rest of the
        scoring.

    Raises
    ------
    ValidationError
        For empty or clashing names and out-of-range numbers.
    """

    stream: str = INPUT_STREAM
    group: str = GROUP
    consumer: str = field(default_factory=_default_consumer)
    output: str = OUTPUT_STREAM
    dead: str = DEAD_STREAM
    batch: int = 200
    block_ms: int = 1000
    claim_idle_ms: int = 60_000
    retry_ms: int = 1000
    maxlen: int | None = 1_000_000
    explain: bool = False

    def __post_init__(self) -> None:
        for name in ("stream", "group", "consumer", "output", "dead"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(f"{name} must be non-empty text", field=name)
        if len({self.stream, self.output, self.dead}) < 3:
            raise ValidationError("stream, output and dead must be three streams", field="output")
        for name, least in (("batch", 1), ("block_ms", 1), ("claim_idle_ms", 0), ("retry_ms", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValidationError(f"{name} must be a whole number >= {least}", field=name)
        if self.maxlen is not None and (isinstance(self.maxlen, bool) or self.maxlen < 1):
            raise ValidationError("maxlen must be None or a whole number >= 1", field="maxlen")

    @property
    def actor(self) -> str:
        """Who stores the scores: ``stream:<consumer>`` (cut to the column's width)."""
        return f"stream:{self.consumer}"[:_ACTOR]


@dataclass(frozen=True)
class ConsumeStats:
    """What a consumer did; stats add up with ``+``.

    Attributes
    ----------
    messages
        Messages settled (acknowledged): ``scored + dead``.
    scored
        Messages scored and written to the output, ``replayed`` of them replays.
    alerts
        Alerts opened in the database.
    dead
        Messages written to the dead-letter stream.
    batches
        Batches settled.
    retries
        Batches left pending because the state store or Redis was unreachable.
    seconds
        Time spent on settled batches (reading, scoring, storing, writing).
    """

    messages: int = 0
    scored: int = 0
    replayed: int = 0
    alerts: int = 0
    dead: int = 0
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0

    def __add__(self, other: ConsumeStats) -> ConsumeStats:
        values = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        return ConsumeStats(**values)

    @property
    def rate(self) -> float:
        """Messages settled per second of batch work (0 before any)."""
        return self.messages / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class _Dead:
    message_id: str
    fields: _Fields
    reason: str
    field: str | None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _entries(reply: object) -> list[_Entry]:
    """Return the ``(id, fields)`` of an ``XREADGROUP`` reply, whatever its parsed shape."""
    if not reply:
        return []
    if isinstance(reply, dict):
        streams: Iterable[Any] = reply.values()
    else:
        streams = (entries for _name, entries in cast(Iterable[Any], reply))
    found: list[_Entry] = []
    for entries in streams:
        if entries and isinstance(entries[0], list):  # RESP3 legacy: [[entries]]
            entries = entries[0]
        found.extend((_text(mid), values or {}) for mid, values in entries if mid is not None)
    return found


def _value(value: object) -> bytes | str:
    if isinstance(value, bytes | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return str(value)


def publish(
    client: redis.Redis,
    transactions: Iterable[Mapping[str, object]],
    stream: str = INPUT_STREAM,
    *,
    maxlen: int | None = None,
    chunk: int = 1000,
) -> list[str]:
    """Add transactions to a stream, ``chunk`` per round trip.

    Values are written as text: datetimes in ISO 8601, numbers exactly (``repr`` of
    the float), ``None`` left out (a missing field).

    Parameters
    ----------
    client
        A Redis client.
    transactions
        Mappings of the input fields (see the module docstring); extra keys travel too.
    stream
        The input stream.
    maxlen
        Trim the stream to about this many entries; ``None`` keeps everything.

    Returns
    -------
    list of str
        The entries' ids, in order.

    Raises
    ------
    ValidationError
        For a transaction without any field (Redis cannot add it) or ``chunk < 1``;
        the transactions before it are added.
    """
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValidationError("chunk must be a whole number >= 1", field="chunk")
    ids: list[str] = []
    pipe = client.pipeline(transaction=False)
    pending = 0
    for tx in transactions:
        values: _Record = {k: _value(v) for k, v in tx.items() if v is not None}
        if not values:
            if pending:
                ids.extend(_text(i) for i in pipe.execute())
            raise ValidationError("a transaction needs at least one field", field="transactions")
        pipe.xadd(stream, values, maxlen=maxlen, approximate=True)
        pending += 1
        if pending == chunk:
            ids.extend(_text(i) for i in pipe.execute())
            pending = 0
    if pending:
        ids.extend(_text(i) for i in pipe.execute())
    return ids


def _output(message_id: str, result: ScoreResult) -> _Record:
    return {
        "transaction_id": result.transaction_id,
        "score": repr(result.score),
        "action": result.action.value,
        "reasons": json.dumps(
            [
                {"feature": r.feature, "value": r.value, "contribution": r.contribution}
                for r in result.reasons
            ]
        ),
        "model_name": result.model_name,
        "model_version": str(result.model_version),
        "degraded": "1" if result.degraded else "0",
        "replayed": "1" if result.replayed else "0",
        "scored_at": result.scored_at.isoformat(),
        "message_id": message_id,
    }


def _dead_letter(dead: _Dead) -> _Record:
    values: _Record = {
        _bytes(k): _bytes(v) for k, v in dead.fields.items() if _bytes(k) not in _RESERVED
    }
    values[b"reason"] = dead.reason.encode()
    values[b"field"] = (dead.field or "").encode()
    values[b"message_id"] = dead.message_id.encode()
    return values


def _parse(message_id: str, values: _Fields) -> Transaction | _Dead:
    if not values:
        return _Dead(message_id, values, "the message was deleted before it was scored", None)
    try:
        text = {_text(k): _text(v) for k, v in values.items()}
    except UnicodeDecodeError:
        return _Dead(message_id, values, "the message is not UTF-8 text", None)
    try:
        return Transaction.from_mapping(text)
    except ValidationError as exc:
        return _Dead(message_id, values, str(exc), exc.field)


ScorerSource = FraudScorer | Callable[[Session], FraudScorer]
"""A scorer, or how to get the one in force (e.g. a champion) with a database session."""


class Consumer:
    """One member of the scoring consumer group.

    Parameters
    ----------
    client
        Redis client of the streams (``decode_responses=False`` keeps messages that
        are not UTF-8 readable for the dead letters); its socket timeout must exceed
        ``config.block_ms``.
    scorer
        The scorer, or a function returning the scorer in force for a session, asked
        once per batch (e.g. ``lambda s: scorers.get(s, "demo-fraud")`` to follow
        champion promotions).
    sessions
        Database session factory.
    audit_key
        Key of the audit chain.
    config
        Streams, group, consumer name and batching.

    Examples
    --------
    >>> consumer = Consumer(client, scorer, platform.sessions, platform.audit_key,
    ...                     StreamConfig(consumer="scorer-1"))  # doctest: +SKIP
    >>> stats = consumer.run(stop_event)  # doctest: +SKIP
    """

    def __init__(
        self,
        client: redis.Redis,
        scorer: ScorerSource,
        sessions: Callable[[], Session],
        audit_key: bytes,
        config: StreamConfig | None = None,
    ) -> None:
        self.client = client
        self.scorer = scorer
        self.sessions = sessions
        self.audit_key = audit_key
        self.config = config if config is not None else StreamConfig()
        self._ready = False
        self._history = True  # re-read own pending messages first
        self._cursor = "0"
        self._claim_cursor = "0-0"
        self._next_claim = 0.0

    # -- reading --------------------------------------------------------------------------

    def _ensure_group(self) -> None:
        if self._ready:
            return
        try:
            self.client.xgroup_create(self.config.stream, self.config.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._ready = True

    def _read(self, count: int) -> list[_Entry]:
        c = self.config
        if self._history:
            reply = self.client.xreadgroup(
                c.group, c.consumer, {c.stream: self._cursor}, count=count
            )
            entries = _entries(reply)
            if entries:
                self._cursor = entries[-1][0]
                return entries
            self._history = False
        now = time.monotonic()
        if now >= self._next_claim:
            claim = self.client.xautoclaim(
                c.stream,
                c.group,
                c.consumer,
                c.claim_idle_ms,
                start_id=self._claim_cursor,
                count=count,
            )
            self._claim_cursor = _text(claim[0])
            if self._claim_cursor == "0-0":
                self._next_claim = now + c.claim_idle_ms / 1000
            claimed = [(_text(m), values or {}) for m, values in claim[1] if m is not None]
            if claimed:
                logger.info("claimed %d stale messages", len(claimed))
                return claimed
        reply = self.client.xreadgroup(
            c.group, c.consumer, {c.stream: ">"}, count=count, block=c.block_ms
        )
        return _entries(reply)

    def _rewind(self) -> None:
        """After a failed batch: read the pending messages again from the start."""
        self._history = True
        self._cursor = "0"

    # -- processing -----------------------------------------------------------------------

    def _current_scorer(self) -> FraudScorer:
        if isinstance(self.scorer, FraudScorer):
            return self.scorer
        with self.sessions() as session:
            return self.scorer(session)

    def _save(self, scored: list[tuple[str, Transaction, ScoreResult]]) -> int:
        """Store new scores and alerts in one transaction; the number of alerts opened."""
        if not scored:
            return 0
        pairs = [(tx, result) for _, tx, result in scored]
        for attempt in range(3):
            with self.sessions() as session:
                try:
                    alerts = save_scores(
                        session,
                        self.audit_key,
                        pairs,
                        actor=self.config.actor,
                        source="stream",
                    )
                    session.commit()
                except Conflict:
                    if attempt == 2:
                        raise
                    session.rollback()  # another consumer stored some; the retry skips them
                    continue
            return len(alerts)
        raise AssertionError("unreachable")  # pragma: no cover

    def _settle(
        self,
        entries: list[_Entry],
        scored: list[tuple[str, Transaction, ScoreResult]],
        dead: list[_Dead],
    ) -> None:
        """Write results and dead letters and acknowledge the batch, all or nothing."""
        c = self.config
        pipe = self.client.pipeline(transaction=True)
        for message_id, _, result in scored:
            pipe.xadd(c.output, _output(message_id, result), maxlen=c.maxlen, approximate=True)
        for letter in dead:
            pipe.xadd(c.dead, _dead_letter(letter), maxlen=c.maxlen, approximate=True)
        pipe.xack(c.stream, c.group, *(message_id for message_id, _ in entries))
        pipe.execute()

    def _process(self, entries: list[_Entry]) -> ConsumeStats:
        dead: list[_Dead] = []
        good: list[tuple[str, Transaction]] = []
        for message_id, values in entries:
            parsed = _parse(message_id, values)
            if isinstance(parsed, _Dead):
                dead.append(parsed)
            else:
                good.append((message_id, parsed))
        scored: list[tuple[str, Transaction, ScoreResult]] = []
        if good:
            outcomes = self._current_scorer().score_batch(
                [tx for _, tx in good], explain=self.config.explain
            )
            raw = dict(entries)
            for (message_id, tx), outcome in zip(good, outcomes, strict=True):
                if isinstance(outcome, ValidationError):
                    dead.append(_Dead(message_id, raw[message_id], str(outcome), outcome.field))
                else:
                    scored.append((message_id, tx, outcome))
        alerts = self._save(scored)
        self._settle(entries, scored, dead)
        for letter in dead:
            logger.warning(
                "dead letter %s: %s (field %s)", letter.message_id, letter.reason, letter.field
            )
        return ConsumeStats(
            messages=len(entries),
            scored=len(scored),
            replayed=sum(1 for _, _, r in scored if r.replayed),
            alerts=alerts,
            dead=len(dead),
            batches=1,
        )

    def step(self, limit: int | None = None) -> ConsumeStats:
        """Read one batch, score it, store it, write its results and acknowledge it.

        Parameters
        ----------
        limit
            Read at most this many messages (default ``config.batch``).

        Returns
        -------
        ConsumeStats
            Of this batch; all zero when nothing came within ``config.block_ms``.

        Raises
        ------
        StateUnavailable, redis.RedisError, sqlalchemy.exc.SQLAlchemyError
            When a backend fails; the batch stays pending and the next step reads it
            again.
        """
        count = self.config.batch if limit is None else max(1, min(limit, self.config.batch))
        started = time.perf_counter()
        try:
            self._ensure_group()
            entries = self._read(count)
            if not entries:
                return ConsumeStats()
            stats = self._process(entries)
        except BaseException:
            self._rewind()
            raise
        return replace(stats, seconds=time.perf_counter() - started)

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        max_messages: int | None = None,
        idle_exit: float | None = None,
        progress: Callable[[ConsumeStats], None] | None = None,
    ) -> ConsumeStats:
        """Consume until stopped, ``max_messages`` are settled, or idle for ``idle_exit``.

        When the state store or Redis is unreachable the batch stays pending and is
        retried after ``config.retry_ms``; other errors propagate (the batch stays
        pending for the next run).

        Parameters
        ----------
        stop
            Set it (from a signal handler or another thread) to stop after the
            current batch.
        max_messages
            Stop once this many messages are settled; never reads more.
        idle_exit
            Stop when no message came for this many seconds (while retrying an
            unreachable backend the consumer does not stop: the batch is pending).
        progress
            Called with the running totals after each batch and each retry.

        Returns
        -------
        ConsumeStats
            The totals.

        Raises
        ------
        ValidationError
            For ``max_messages < 1`` or a negative ``idle_exit``.
        """
        if max_messages is not None and (isinstance(max_messages, bool) or max_messages < 1):
            raise ValidationError("max_messages must be a whole number >= 1", field="max_messages")
        if idle_exit is not None and not idle_exit >= 0:
            raise ValidationError("idle_exit must be >= 0 seconds", field="idle_exit")
        total = ConsumeStats()
        last = time.monotonic()
        while stop is None or not stop.is_set():
            left = None if max_messages is None else max_messages - total.messages
            if left is not None and left <= 0:
                break
            try:
                done = self.step(left)
            except _TRANSIENT as exc:
                logger.warning("batch left pending, retrying: %s", type(exc).__name__)
                total += ConsumeStats(retries=1)
                if progress is not None:
                    progress(total)
                if stop is not None:
                    stop.wait(self.config.retry_ms / 1000)
                else:
                    time.sleep(self.config.retry_ms / 1000)
                continue
            now = time.monotonic()
            if done.messages:
                last = now
                total += done
                if progress is not None:
                    progress(total)
            elif idle_exit is not None and now - last >= idle_exit:
                break
        return total
