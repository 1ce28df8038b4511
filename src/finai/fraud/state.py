"""The state that online fraud features read: recent events per card and per terminal.

A state store keeps, per card and per terminal, the events of the last
``retention`` (epoch microseconds, UTC), which transactions are labelled fraud,
and the first result computed for each transaction id (idempotent scoring). It
knows nothing about features: :class:`finai.fraud.features.OnlineFeatures` asks
for time spans and turns what comes back into feature values.

Two stores keep the same contract, checked by one test suite:

* :class:`MemoryStore`: dictionaries behind a lock, for one process and tests;
* :class:`finai.fraud.state_redis.RedisStore`: sorted sets in Redis, shared by
  every scoring process.

Rules every store follows:

* events are ordered by ``(time_us, transaction_id)``;
* :meth:`StateStore.record` is atomic: it refuses a transaction id it recorded
  before (:attr:`Recorded.DUPLICATE`), even once the event is forgotten (for the
  life of a memory store, for the key ttl in Redis), and an event older than the
  newest event of its card or terminal by more than ``max_lateness_us``
  (:attr:`Recorded.TOO_LATE`), and changes nothing then; otherwise it adds the event
  and forgets the card's and terminal's events with ``time_us <= event time -
  retention_us``;
* a label belongs to a recorded transaction; a label for a transaction the store
  does not know (never recorded, or already forgotten) changes nothing;
* the batched methods (:meth:`StateStore.read_many`, :meth:`StateStore.record_many`,
  :meth:`StateStore.remember_many`) give what the one-by-one calls give, made in the
  order given: a later item sees what an earlier one wrote. Each item is atomic by
  itself, the batch as a whole is not (another client's writes may land between
  items); a store may send a batch in one round trip.
"""

from __future__ import annotations

import enum
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from finai.exceptions import FinAIError, ValidationError

__all__ = [
    "MemoryStore",
    "ReadRequest",
    "Recorded",
    "Span",
    "StateStore",
    "StateUnavailable",
    "StateView",
    "StoredEvent",
]


class StateUnavailable(FinAIError):
    """The store's backend cannot be reached; nothing was read or changed."""

    title = "State store unavailable"


class StoredEvent(NamedTuple):
    """One transaction as the state keeps it (a named tuple: cheap to build by the hundred).

    Parameters
    ----------
    transaction_id
        The transaction's unique id.
    time_us
        Transaction time in epoch microseconds (UTC).
    amount
        Transaction amount (currency units, ``>= 0``).
    """

    transaction_id: str
    time_us: int
    amount: float


@dataclass(frozen=True, slots=True)
class Span:
    """The half-open time span ``(after_us, until_us]`` in epoch microseconds (UTC).

    Parameters
    ----------
    after_us
        Exclusive lower bound.
    until_us
        Inclusive upper bound.

    Raises
    ------
    ValidationError
        When ``until_us < after_us``.
    """

    after_us: int
    until_us: int

    def __post_init__(self) -> None:
        if self.until_us < self.after_us:
            raise ValidationError("a span must not end before it starts", field="span")

    def __contains__(self, time_us: object) -> bool:
        return isinstance(time_us, int) and self.after_us < time_us <= self.until_us


@dataclass(frozen=True, slots=True)
class StateView:
    """What a store holds for one card and one terminal, read at one instant.

    Parameters
    ----------
    card
        The card's events in the card span, ordered by ``(time_us, transaction_id)``.
    terminal
        The terminal's events in the terminal span, in the same order.
    frauds
        Ids of the events in ``terminal`` that are labelled fraud.
    card_newest_us
        Time of the card's newest event kept (any span), ``None`` for an unknown card.
    terminal_newest_us
        Time of the terminal's newest event kept, ``None`` for an unknown terminal.
    """

    card: tuple[StoredEvent, ...]
    terminal: tuple[StoredEvent, ...]
    frauds: frozenset[str]
    card_newest_us: int | None
    terminal_newest_us: int | None


class ReadRequest(NamedTuple):
    """One read of a batch (:meth:`StateStore.read_many`), as :meth:`StateStore.read` takes it.

    Parameters
    ----------
    card_id, terminal_id
        Whose events to read.
    card_span, terminal_span
        The time spans to read.
    """

    card_id: str
    terminal_id: str
    card_span: Span
    terminal_span: Span


class Recorded(enum.Enum):
    """What :meth:`StateStore.record` did with an event."""

    ADDED = "added"
    """The event is now part of the state."""
    DUPLICATE = "duplicate"
    """The store already keeps this transaction id; nothing changed."""
    TOO_LATE = "too_late"
    """Older than allowed relative to its card's or terminal's newest event; nothing changed."""


class StateStore(Protocol):
    """The state behind online fraud features; see the module docstring for the rules."""

    def read(
        self, card_id: str, terminal_id: str, *, card_span: Span, terminal_span: Span
    ) -> StateView:
        """Read a card's and a terminal's events in their spans, in one consistent snapshot.

        Parameters
        ----------
        card_id, terminal_id
            Whose events to read.
        card_span, terminal_span
            The time spans to read.

        Returns
        -------
        StateView
            The events, fraud labels and newest times.
        """
        ...

    def record(
        self,
        card_id: str,
        terminal_id: str,
        event: StoredEvent,
        *,
        retention_us: int,
        max_lateness_us: int,
    ) -> Recorded:
        """Add an event to its card and terminal, atomically.

        Parameters
        ----------
        card_id, terminal_id
            Where the event belongs.
        event
            The event.
        retention_us
            Events of the card and terminal with ``time_us <= event.time_us -
            retention_us`` are forgotten.
        max_lateness_us
            The event is refused when it is older than the newest event of its card
            or of its terminal by more than this.

        Returns
        -------
        Recorded
            Whether the event was added, or why not.
        """
        ...

    def read_many(self, reads: Sequence[ReadRequest]) -> Sequence[StateView]:
        """Make several reads, as :meth:`read` one by one, in few round trips.

        Parameters
        ----------
        reads
            The reads.

        Returns
        -------
        Sequence of StateView
            One view per read, in order; each is one consistent snapshot of its card
            and terminal. A store may build each view when it is accessed (all reads
            are made by then): take them one at a time rather than keep them all.
        """
        ...

    def record_many(
        self,
        events: Sequence[tuple[str, str, StoredEvent]],
        *,
        retention_us: int,
        max_lateness_us: int,
    ) -> list[Recorded]:
        """Record several events, as :meth:`record` one by one in this order.

        Parameters
        ----------
        events
            ``(card_id, terminal_id, event)`` triples. A later event sees the earlier
            ones: a repeated id is a :attr:`Recorded.DUPLICATE`, lateness is judged
            against the events recorded before it.
        retention_us, max_lateness_us
            As for :meth:`record`.

        Returns
        -------
        list of Recorded
            One outcome per event, in order.
        """
        ...

    def label(self, transaction_id: str, is_fraud: bool) -> bool:
        """Set the fraud label of a recorded transaction (a later label replaces it).

        Parameters
        ----------
        transaction_id
            The labelled transaction.
        is_fraud
            The verdict.

        Returns
        -------
        bool
            ``True`` when the store knows the transaction, ``False`` when it does
            not (the label then changes nothing).
        """
        ...

    def remember(self, transaction_id: str, payload: str) -> str | None:
        """Keep the first result for a transaction id, atomically.

        Parameters
        ----------
        transaction_id
            The transaction the result is for.
        payload
            The result, serialised.

        Returns
        -------
        str or None
            ``None`` when ``payload`` was stored now; the stored payload when a
            result was already kept for this id (``payload`` is then dropped).
        """
        ...

    def remember_many(self, results: Sequence[tuple[str, str]]) -> list[str | None]:
        """Keep the first result of several transaction ids, as :meth:`remember` one by one.

        Parameters
        ----------
        results
            ``(transaction_id, payload)`` pairs, in order: of a repeated id the first
            pair's payload is kept, and the repeat gets it back.

        Returns
        -------
        list of str or None
            Per pair, what :meth:`remember` returns.
        """
        ...


def _order(event: StoredEvent) -> tuple[int, str]:
    return (event.time_us, event.transaction_id)


def _time(event: StoredEvent) -> int:
    return event.time_us


def _in_span(events: list[StoredEvent], span: Span) -> tuple[StoredEvent, ...]:
    start = bisect_right(events, span.after_us, key=_time)
    stop = bisect_right(events, span.until_us, key=_time)
    return tuple(events[start:stop])


class MemoryStore:
    """A :class:`StateStore` in this process's memory, safe to share between threads.

    Remembered results and the ids of recorded transactions (to refuse them again)
    are kept for the life of the store; events and labels are forgotten as
    :meth:`record` trims them.

    Examples
    --------
    >>> store = MemoryStore()
    >>> store.remember("tx-1", '{"score": 0.1}') is None
    True
    >>> store.remember("tx-1", '{"score": 0.9}')
    '{"score": 0.1}'
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cards: dict[str, list[StoredEvent]] = {}
        self._terminals: dict[str, list[StoredEvent]] = {}
        self._where: dict[str, tuple[str, int]] = {}
        """Terminal and time of every transaction recorded, by id."""
        self._frauds: dict[str, set[str]] = {}
        self._results: dict[str, str] = {}

    def read(
        self, card_id: str, terminal_id: str, *, card_span: Span, terminal_span: Span
    ) -> StateView:
        """Read a card's and a terminal's events in their spans (see :class:`StateStore`)."""
        with self._lock:
            return self._read(card_id, terminal_id, card_span, terminal_span)

    def read_many(self, reads: Sequence[ReadRequest]) -> Sequence[StateView]:
        """Make several reads, under one lock (see :meth:`StateStore.read_many`)."""
        with self._lock:
            return [self._read(*request) for request in reads]

    def _read(
        self, card_id: str, terminal_id: str, card_span: Span, terminal_span: Span
    ) -> StateView:
        card = self._cards.get(card_id, [])
        terminal = self._terminals.get(terminal_id, [])
        terminal_events = _in_span(terminal, terminal_span)
        frauds = self._frauds.get(terminal_id, set())
        return StateView(
            card=_in_span(card, card_span),
            terminal=terminal_events,
            frauds=frozenset(e.transaction_id for e in terminal_events) & frauds,
            card_newest_us=card[-1].time_us if card else None,
            terminal_newest_us=terminal[-1].time_us if terminal else None,
        )

    def record(
        self,
        card_id: str,
        terminal_id: str,
        event: StoredEvent,
        *,
        retention_us: int,
        max_lateness_us: int,
    ) -> Recorded:
        """Add an event to its card and terminal (see :class:`StateStore`)."""
        with self._lock:
            return self._record(card_id, terminal_id, event, retention_us, max_lateness_us)

    def record_many(
        self,
        events: Sequence[tuple[str, str, StoredEvent]],
        *,
        retention_us: int,
        max_lateness_us: int,
    ) -> list[Recorded]:
        """Record several events in order, under one lock (see :meth:`StateStore.record_many`)."""
        with self._lock:
            return [
                self._record(card_id, terminal_id, event, retention_us, max_lateness_us)
                for card_id, terminal_id, event in events
            ]

    def _record(
        self,
        card_id: str,
        terminal_id: str,
        event: StoredEvent,
        retention_us: int,
        max_lateness_us: int,
    ) -> Recorded:
        if event.transaction_id in self._where:
            return Recorded.DUPLICATE
        card = self._cards.setdefault(card_id, [])
        terminal = self._terminals.setdefault(terminal_id, [])
        for events in (card, terminal):
            if events and event.time_us < events[-1].time_us - max_lateness_us:
                return Recorded.TOO_LATE
        insort(card, event, key=_order)
        insort(terminal, event, key=_order)
        self._where[event.transaction_id] = (terminal_id, event.time_us)
        bound = event.time_us - retention_us
        del card[: bisect_right(card, bound, key=_time)]
        stale = bisect_right(terminal, bound, key=_time)
        frauds = self._frauds.get(terminal_id, set())
        for old in terminal[:stale]:
            frauds.discard(old.transaction_id)
        del terminal[:stale]
        return Recorded.ADDED

    def label(self, transaction_id: str, is_fraud: bool) -> bool:
        """Set the fraud label of a recorded transaction (see :class:`StateStore`)."""
        with self._lock:
            where = self._where.get(transaction_id)
            if where is None:
                return False
            terminal_id, time_us = where
            terminal = self._terminals[terminal_id]
            at = bisect_left(terminal, (time_us, transaction_id), key=_order)
            if at == len(terminal) or terminal[at].transaction_id != transaction_id:
                return False  # forgotten
            frauds = self._frauds.setdefault(terminal_id, set())
            if is_fraud:
                frauds.add(transaction_id)
            else:
                frauds.discard(transaction_id)
            return True

    def remember(self, transaction_id: str, payload: str) -> str | None:
        """Keep the first result for a transaction id (see :class:`StateStore`)."""
        with self._lock:
            return self._remember(transaction_id, payload)

    def remember_many(self, results: Sequence[tuple[str, str]]) -> list[str | None]:
        """Keep the first results of several ids, under one lock (see :class:`StateStore`)."""
        with self._lock:
            return [self._remember(transaction_id, payload) for transaction_id, payload in results]

    def _remember(self, transaction_id: str, payload: str) -> str | None:
        first = self._results.get(transaction_id)
        if first is None:
            self._results[transaction_id] = payload
        return first
