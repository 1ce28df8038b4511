"""One contract for every state store: MemoryStore and RedisStore (real Redis) alike."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from finai.exceptions import ValidationError
from finai.fraud.state import (
    MemoryStore,
    ReadRequest,
    Recorded,
    Span,
    StateStore,
    StateUnavailable,
    StateView,
    StoredEvent,
)
from finai.fraud.state_redis import RedisStore
from tests.conftest import REDIS_URL, drop_keys, unique_prefix

T = TypeVar("T")
DAY = 86_400_000_000
T0 = 1_700_000_000_000_000
RETENTION = 38 * DAY
LATENESS = DAY
EVERYTHING = Span(-(2**52), 2**52)


def record(
    store: StateStore, event: StoredEvent, card: str = "c1", terminal: str = "t1"
) -> Recorded:
    return store.record(card, terminal, event, retention_us=RETENTION, max_lateness_us=LATENESS)


def read(
    store: StateStore, card: str = "c1", terminal: str = "t1", span: Span = EVERYTHING
) -> StateView:
    return store.read(card, terminal, card_span=span, terminal_span=span)


def ids(events: tuple[StoredEvent, ...]) -> list[str]:
    return [e.transaction_id for e in events]


@pytest.fixture
def twin(store: StateStore) -> Iterator[StateStore]:
    """A second, empty store of the same kind as ``store``."""
    if isinstance(store, RedisStore):
        prefix = unique_prefix()
        yield RedisStore(store.client, prefix=prefix)
        drop_keys(store.client, prefix)
    else:
        yield MemoryStore()


def in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` for i in range(count), all starting together; results in order."""
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return [r for r in results if r is not None]


# -- reading and recording ----------------------------------------------------------------


def test_an_unknown_card_and_terminal_read_empty(store: StateStore) -> None:
    view = read(store)
    assert view == StateView((), (), frozenset(), None, None)


def test_events_come_back_exactly_in_event_order(store: StateStore) -> None:
    events = [
        StoredEvent("b", T0, 0.1),
        StoredEvent("a", T0, 123456.789),
        StoredEvent("z|odd:id é", T0 - 5, 1e-7),
        StoredEvent("c", T0 + 1, 0.0),
    ]
    for event in events:
        assert record(store, event) is Recorded.ADDED
    view = read(store)
    expected = (events[2], events[1], events[0], events[3])
    assert view.card == expected
    assert view.terminal == expected
    assert view.card_newest_us == view.terminal_newest_us == T0 + 1


def test_spans_exclude_their_start_and_include_their_end(store: StateStore) -> None:
    for i in range(5):
        record(store, StoredEvent(f"tx{i}", T0 + i, float(i)))
    view = store.read("c1", "t1", card_span=Span(T0 + 1, T0 + 3), terminal_span=Span(T0 - 1, T0))
    assert ids(view.card) == ["tx2", "tx3"]
    assert ids(view.terminal) == ["tx0"]
    assert view.card_newest_us == T0 + 4


def test_cards_and_terminals_are_kept_apart(store: StateStore) -> None:
    record(store, StoredEvent("a", T0, 1.0), card="c1", terminal="t1")
    record(store, StoredEvent("b", T0, 2.0), card="c2", terminal="t1")
    record(store, StoredEvent("c", T0, 3.0), card="c1", terminal="t2")
    view = read(store, card="c1", terminal="t1")
    assert ids(view.card) == ["a", "c"]
    assert ids(view.terminal) == ["a", "b"]
    assert read(store, card="c3", terminal="t3").card_newest_us is None


def test_a_transaction_is_recorded_once(store: StateStore) -> None:
    assert record(store, StoredEvent("a", T0, 1.0)) is Recorded.ADDED
    assert record(store, StoredEvent("a", T0 + 5, 9.0), card="c2") is Recorded.DUPLICATE
    assert read(store).card == (StoredEvent("a", T0, 1.0),)
    assert read(store, card="c2").card == ()


def test_concurrent_records_of_one_transaction_add_it_once(store: StateStore) -> None:
    outcomes = in_threads(8, lambda i: record(store, StoredEvent("a", T0, float(i))))
    assert Counter(outcomes) == {Recorded.ADDED: 1, Recorded.DUPLICATE: 7}
    assert len(read(store).card) == 1


def test_late_events_within_the_allowance_are_added(store: StateStore) -> None:
    record(store, StoredEvent("new", T0, 1.0))
    assert record(store, StoredEvent("late", T0 - LATENESS, 2.0)) is Recorded.ADDED
    assert ids(read(store).card) == ["late", "new"]


@pytest.mark.parametrize("newer", ["card", "terminal"])
def test_events_later_than_the_allowance_are_refused(store: StateStore, newer: str) -> None:
    card, terminal = ("c1", "t9") if newer == "card" else ("c9", "t1")
    record(store, StoredEvent("new", T0, 1.0), card=card, terminal=terminal)
    late = StoredEvent("late", T0 - LATENESS - 1, 2.0)
    assert record(store, late) is Recorded.TOO_LATE
    view = read(store)
    assert ids(view.card) + ids(view.terminal) == ["new"]
    assert store.label("late", True) is False
    assert record(store, late, card="c2", terminal="t2") is Recorded.ADDED


def test_recording_forgets_events_older_than_the_retention(store: StateStore) -> None:
    record(store, StoredEvent("old", T0, 1.0))
    record(store, StoredEvent("kept", T0 + 1, 2.0))
    store.label("old", True)
    store.label("kept", True)
    record(store, StoredEvent("now", T0 + RETENTION, 3.0))
    view = read(store)
    assert ids(view.card) == ids(view.terminal) == ["kept", "now"]
    assert view.frauds == {"kept"}
    assert store.label("old", False) is False


def test_a_transaction_id_stays_taken_after_its_event_is_forgotten(store: StateStore) -> None:
    record(store, StoredEvent("old", T0, 1.0))
    record(store, StoredEvent("now", T0 + RETENTION, 2.0))  # forgets "old"
    assert ids(read(store).card) == ["now"]
    assert store.label("old", True) is False
    again = StoredEvent("old", T0 + RETENTION + 1, 3.0)
    assert record(store, again, card="c2", terminal="t2") is Recorded.DUPLICATE
    assert read(store, card="c2", terminal="t2").card == ()


# -- labels -------------------------------------------------------------------------------


def test_labels_mark_terminal_events_as_fraud(store: StateStore) -> None:
    for i in range(3):
        record(store, StoredEvent(f"tx{i}", T0 + i, 1.0))
    assert store.label("tx0", True) is True
    assert store.label("tx2", True) is True
    assert read(store).frauds == {"tx0", "tx2"}
    view = store.read("c1", "t1", card_span=EVERYTHING, terminal_span=Span(T0, T0 + 2))
    assert view.frauds == {"tx2"}
    assert store.label("tx2", False) is True
    assert store.label("tx1", False) is True
    assert read(store).frauds == {"tx0"}


def test_a_label_for_an_unknown_transaction_changes_nothing(store: StateStore) -> None:
    assert store.label("nope", True) is False
    record(store, StoredEvent("nope", T0, 1.0))
    assert read(store).frauds == frozenset()


def test_labels_follow_the_transactions_terminal(store: StateStore) -> None:
    record(store, StoredEvent("a", T0, 1.0), card="c1", terminal="t1")
    record(store, StoredEvent("b", T0, 1.0), card="c1", terminal="t2")
    store.label("b", True)
    assert read(store, terminal="t1").frauds == frozenset()
    assert read(store, terminal="t2").frauds == {"b"}


# -- idempotency --------------------------------------------------------------------------


def test_remember_keeps_the_first_result(store: StateStore) -> None:
    assert store.remember("tx1", '{"score": 0.1}') is None
    assert store.remember("tx1", '{"score": 0.9}') == '{"score": 0.1}'
    assert store.remember("tx1", '{"score": 0.1}') == '{"score": 0.1}'
    assert store.remember("tx2", "") is None
    assert store.remember("tx2", "other") == ""


def test_remember_is_atomic_under_concurrent_threads(store: StateStore) -> None:
    for round_ in range(5):
        transaction_id = f"tx{round_}"
        answers = in_threads(
            16, lambda i, tid=transaction_id: store.remember(tid, f"payload-{i}") or f"won-{i}"
        )
        winners = [a for a in answers if a.startswith("won-")]
        assert len(winners) == 1
        first = "payload-" + winners[0].removeprefix("won-")
        assert sorted(a for a in answers if not a.startswith("won-")) == [first] * 15
        assert store.remember(transaction_id, "late") == first


# -- batches ------------------------------------------------------------------------------

BATCH = [  # (card, terminal, event): repeats, ties, late events, a trim
    ("c1", "t1", StoredEvent("a", T0, 1.0)),
    ("c2", "t1", StoredEvent("b", T0, 2.5)),
    ("c1", "t2", StoredEvent("a", T0 + 9, 9.0)),  # duplicate id, another terminal
    ("c1", "t1", StoredEvent("late", T0 - LATENESS - 1, 3.0)),  # too late for c1 and t1
    ("c3", "t3", StoredEvent("late2", T0 - LATENESS - 1, 3.0)),  # fine elsewhere
    ("c1", "t1", StoredEvent("c", T0 - LATENESS, 4.0)),  # just within the allowance
    ("c2", "t2", StoredEvent("d", T0 + 5, 0.0)),
    ("c2", "t1", StoredEvent("e", T0 + RETENTION, 5.0)),  # forgets a, b, c at t1
    ("c1", "t1", StoredEvent("f", T0 + RETENTION, 6.0)),
    ("c1", "t1", StoredEvent("a", T0 + RETENTION + 1, 7.0)),  # forgotten, still taken
]
CARDS = ("c1", "c2", "c3", "c9")
TERMINALS = ("t1", "t2", "t3", "t9")


def record_batch(store: StateStore, batch: list[tuple[str, str, StoredEvent]]) -> list[Recorded]:
    return store.record_many(batch, retention_us=RETENTION, max_lateness_us=LATENESS)


def everything(store: StateStore) -> list[StateView]:
    return [read(store, card, terminal) for card in CARDS for terminal in TERMINALS]


def test_record_many_is_record_one_by_one_in_order(store: StateStore, twin: StateStore) -> None:
    outcomes = record_batch(store, BATCH[:5]) + record_batch(store, BATCH[5:])
    one_by_one = [
        twin.record(card, terminal, event, retention_us=RETENTION, max_lateness_us=LATENESS)
        for card, terminal, event in BATCH
    ]
    assert outcomes == one_by_one
    assert outcomes[:5] == [Recorded.ADDED, Recorded.ADDED, Recorded.DUPLICATE,
                            Recorded.TOO_LATE, Recorded.ADDED]  # fmt: skip
    assert outcomes[-1] is Recorded.DUPLICATE
    assert everything(store) == everything(twin)
    assert [store.label(i, True) for i in "abcdef"] == [twin.label(i, True) for i in "abcdef"]
    assert record_batch(store, []) == []


def test_read_many_is_read_one_by_one(store: StateStore) -> None:
    record_batch(store, BATCH[:7])
    store.label("b", True)
    spans = [EVERYTHING, Span(T0 - 1, T0), Span(T0, T0 + 9), Span(T0 + 9, T0 + 9)]
    reads = [
        ReadRequest(card, terminal, card_span, terminal_span)
        for card, terminal in [("c1", "t1"), ("c2", "t2"), ("c9", "t1"), ("c1", "t9")]
        for card_span in spans
        for terminal_span in spans
    ]
    views = list(store.read_many(reads))
    assert views == [
        store.read(r.card_id, r.terminal_id, card_span=r.card_span, terminal_span=r.terminal_span)
        for r in reads
    ]
    assert views[0].frauds == {"b"} and views[0].card_newest_us == T0
    again = store.read_many(reads)  # a sequence, possibly built as accessed
    assert len(again) == len(reads) and again[-1] == views[-1]
    assert list(again[2:5]) == views[2:5]
    assert list(store.read_many([])) == []


def test_remember_many_is_remember_one_by_one_in_order(store: StateStore, twin: StateStore) -> None:
    for s in (store, twin):
        s.remember("old", "kept")
    pairs = [("old", "new"), ("x", "1"), ("y", ""), ("x", "2"), ("y", "3"), ("z", "4")]
    firsts = store.remember_many(pairs)
    assert firsts == [twin.remember(tid, payload) for tid, payload in pairs]
    assert firsts == ["kept", None, None, "1", "", None]
    assert store.remember_many([("x", "5"), ("w", "6")]) == ["1", None]
    assert store.remember_many([]) == []


# -- Redis specifics ----------------------------------------------------------------------


def test_redis_store_works_with_decoded_responses(redis_client: redis.Redis) -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    prefix = unique_prefix()
    try:
        store = RedisStore(client, prefix=prefix)
        record(store, StoredEvent("a", T0, 0.3))
        store.label("a", True)
        view = read(store)
        assert view.card == (StoredEvent("a", T0, 0.3),)
        assert view.frauds == {"a"}
        assert store.remember("a", "x") is None
        assert store.remember("a", "y") == "x"
    finally:
        drop_keys(client, prefix)
        client.close()


def test_redis_stores_with_other_prefixes_do_not_meet(redis_client: redis.Redis) -> None:
    one, two = unique_prefix(), unique_prefix()
    try:
        first, second = RedisStore(redis_client, one), RedisStore(redis_client, two)
        record(first, StoredEvent("a", T0, 1.0))
        assert read(second) == StateView((), (), frozenset(), None, None)
        assert record(second, StoredEvent("a", T0, 1.0)) is Recorded.ADDED
    finally:
        drop_keys(redis_client, one)
        drop_keys(redis_client, two)


def test_redis_keys_expire_after_the_ttl(redis_client: redis.Redis) -> None:
    prefix = unique_prefix()
    try:
        store = RedisStore(
            redis_client, prefix, ttl=timedelta(days=2), result_ttl=timedelta(hours=1)
        )
        record(store, StoredEvent("a", T0, 1.0))
        store.label("a", True)
        store.remember("a", "x")
        ttls = {key: redis_client.pttl(key) for key in redis_client.scan_iter(match=f"{prefix}*")}
        assert len(ttls) == 5
        result_key = f"{prefix}result:a".encode()
        assert 0 < ttls.pop(result_key) <= 3_600_000
        assert all(2 * DAY // 1000 - 60_000 < ttl <= 2 * DAY // 1000 for ttl in ttls.values())
    finally:
        drop_keys(redis_client, prefix)


def test_redis_store_refuses_ids_with_its_separator(redis_client: redis.Redis) -> None:
    prefix = unique_prefix()
    store = RedisStore(redis_client, prefix)
    with pytest.raises(ValidationError) as info:
        record(store, StoredEvent("a\0b", T0, 1.0))
    assert info.value.field == "transaction_id"
    batch = [("c1", "t1", StoredEvent("fine", T0, 1.0)), ("c1", "t1", StoredEvent("a\0", T0, 1.0))]
    with pytest.raises(ValidationError) as info:
        record_batch(store, batch)
    assert info.value.field == "transaction_id"
    assert read(store) == StateView((), (), frozenset(), None, None)  # nothing was sent


def test_an_unreachable_redis_raises_state_unavailable_for_every_call() -> None:
    dead = redis.Redis(
        port=1, socket_connect_timeout=0.05, socket_timeout=0.05, retry=Retry(NoBackoff(), 0)
    )
    store = RedisStore(dead)
    calls: list[Callable[[], object]] = [
        lambda: read(store),
        lambda: record(store, StoredEvent("a", T0, 1.0)),
        lambda: store.label("a", True),
        lambda: store.remember("a", "x"),
        lambda: store.read_many([ReadRequest("c1", "t1", EVERYTHING, EVERYTHING)]),
        lambda: record_batch(store, [("c1", "t1", StoredEvent("a", T0, 1.0))]),
        lambda: store.remember_many([("a", "x")]),
    ]
    for call in calls:
        with pytest.raises(StateUnavailable):
            call()


def test_redis_store_refuses_bad_settings(redis_client: redis.Redis) -> None:
    with pytest.raises(ValidationError) as info:
        RedisStore(redis_client, prefix="")
    assert info.value.field == "prefix"
    with pytest.raises(ValidationError) as info:
        RedisStore(redis_client, ttl=timedelta(0))
    assert info.value.field == "ttl"


def test_spans_must_not_end_before_they_start() -> None:
    with pytest.raises(ValidationError):
        Span(2, 1)
    assert T0 in Span(T0 - 1, T0)
    assert T0 not in Span(T0, T0 + 1)


def test_memory_store_is_a_state_store() -> None:
    store: StateStore = MemoryStore()
    assert read(store).card == ()
