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
* :meth:`StateStore.record` is atomic: it refuses a transaction id it already
  keeps (:attr:`Recorded.DUPLICATE`) and an event older than the newest event of
  its card or terminal by more than ``max_lateness_us``
  (:attr:`Recorded.TOO_LATE`), and changes nothing then; otherwise it adds the event
  and forgets the card's and terminal's events with ``time_us <= event time -
  retention_us``;
* a label belongs to a recorded transaction; a label for a transaction the store
  does not know (never recorded, or already forgotten) changes nothing.
"""

from __future__ import annotations

import enum
import threading
from bisect import bisect_right, insort
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from finai.exceptions import FinAIError, ValidationError

__all__ = [
    "MemoryStore",
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

    Remembered results are kept for the life of the store; events and labels are
    forgotten as :meth:`record` trims them.

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
        self._terminal_of: dict[str, str] = {}
        self._frauds: dict[str, set[str]] = {}
        self._results: dict[str, str] = {}

    def read(
        self, card_id: str, terminal_id: str, *, card_span: Span, terminal_span: Span
    ) -> StateView:
        """Read a card's and a terminal's events in their spans (see :class:`StateStore`)."""
        with self._lock:
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
            if event.transaction_id in self._terminal_of:
                return Recorded.DUPLICATE
            card = self._cards.setdefault(card_id, [])
            terminal = self._terminals.setdefault(terminal_id, [])
            for events in (card, terminal):
                if events and event.time_us < events[-1].time_us - max_lateness_us:
                    return Recorded.TOO_LATE
            insort(card, event, key=_order)
            insort(terminal, event, key=_order)
            self._terminal_of[event.transaction_id] = terminal_id
            bound = event.time_us - retention_us
            del card[: bisect_right(card, bound, key=_time)]
            stale = bisect_right(terminal, bound, key=_time)
            frauds = self._frauds.get(terminal_id, set())
            for old in terminal[:stale]:
                del self._terminal_of[old.transaction_id]
                frauds.discard(old.transaction_id)
            del terminal[:stale]
            return Recorded.ADDED

    def label(self, transaction_id: str, is_fraud: bool) -> bool:
        """Set the fraud label of a recorded transaction (see :class:`StateStore`)."""
        with self._lock:
            terminal_id = self._terminal_of.get(transaction_id)
            if terminal_id is None:
                return False
            frauds = self._frauds.setdefault(terminal_id, set())
            if is_fraud:
                frauds.add(transaction_id)
            else:
                frauds.discard(transaction_id)
            return True

    def remember(self, transaction_id: str, payload: str) -> str | None:
        """Keep the first result for a transaction id (see :class:`StateStore`)."""
        with self._lock:
            first = self._results.get(transaction_id)
            if first is None:
                self._results[transaction_id] = payload
            return first
