"""Fraud features: known answers offline, the online path, and offline == online."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finai.exceptions import ValidationError
from finai.fraud.features import (
    FEATURE_NAMES,
    FeatureConfig,
    OnlineFeatures,
    offline_features,
)
from finai.fraud.state import MemoryStore, Span, StateStore, StoredEvent
from finai.fraud.state_redis import RedisStore
from tests.conftest import drop_keys

DAY0 = pd.Timestamp("2024-03-04", tz="UTC")  # a Monday


@dataclass(frozen=True)
class Tx:
    """A transaction as the online path reads it."""

    transaction_id: str
    timestamp: datetime
    customer_id: str
    terminal_id: str
    amount: float | Decimal


def at(days: float = 0, hours: float = 0) -> pd.Timestamp:
    return DAY0 + pd.Timedelta(days=days, hours=hours)


def frame(*rows: tuple[object, ...]) -> pd.DataFrame:
    """Rows of (id, timestamp, card, terminal, amount[, is_fraud])."""
    columns = ["transaction_id", "timestamp", "customer_id", "terminal_id", "amount", "is_fraud"]
    table = pd.DataFrame([(*row, *[np.nan] * (6 - len(row))) for row in rows], columns=columns)
    table["timestamp"] = pd.to_datetime(table["timestamp"], utc=True, format="mixed")
    table["amount"] = table["amount"].astype(float)
    table["is_fraud"] = table["is_fraud"].astype(float)
    return table


def feature(table: pd.DataFrame, name: str, config: FeatureConfig | None = None) -> list[float]:
    return offline_features(table, config or FeatureConfig())[name].tolist()


# -- configuration ------------------------------------------------------------------------


def test_feature_names_are_fixed_and_ordered() -> None:
    assert FEATURE_NAMES == (
        "amount",
        "hour",
        "is_weekend",
        "is_night",
        "card_count_1d",
        "card_mean_amount_1d",
        "card_count_7d",
        "card_mean_amount_7d",
        "card_count_30d",
        "card_mean_amount_30d",
        "amount_vs_card_mean_30d",
        "terminal_count_1d",
        "terminal_fraud_rate_1d",
        "terminal_count_7d",
        "terminal_fraud_rate_7d",
        "terminal_count_30d",
        "terminal_fraud_rate_30d",
    )
    assert FeatureConfig(windows=[2, 5]).windows == (2, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"windows": ()}, "windows"),
        ({"windows": (7, 1)}, "windows"),
        ({"windows": (1, 1)}, "windows"),
        ({"windows": (0, 7)}, "windows"),
        ({"windows": (1.5,)}, "windows"),
        ({"windows": "17"}, "windows"),
        ({"delay_days": -1}, "delay_days"),
        ({"delay_days": True}, "delay_days"),
    ],
)
def test_feature_config_refuses_bad_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        FeatureConfig(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


# -- offline: known answers ---------------------------------------------------------------


def test_card_windows_include_the_current_transaction_and_exclude_their_start() -> None:
    table = frame(
        ("a", at(0, 10), "c1", "t1", 10.0),
        ("b", at(0, 20), "c1", "t2", 20.0),
        ("c", at(1, 10), "c1", "t3", 30.0),  # exactly one day after a
        ("d", at(8, 10), "c1", "t4", 40.0),  # exactly seven days after c
        ("e", at(8, 10), "c2", "t4", 99.0),  # another card
    )
    assert feature(table, "card_count_1d") == [1, 2, 2, 1, 1]
    assert feature(table, "card_mean_amount_1d") == [10, 15, 25, 40, 99]
    assert feature(table, "card_count_7d") == [1, 2, 3, 1, 1]
    assert feature(table, "card_mean_amount_7d") == [10, 15, 20, 40, 99]
    assert feature(table, "card_count_30d") == [1, 2, 3, 4, 1]
    assert feature(table, "card_mean_amount_30d") == [10, 15, 20, 25, 99]
    # amount / mean of the card's earlier amounts in 30 days; 1.0 without history
    assert feature(table, "amount_vs_card_mean_30d") == [1.0, 2.0, 2.0, 2.0, 1.0]


def test_amount_vs_card_mean_is_one_when_earlier_amounts_are_all_zero() -> None:
    table = frame(("a", at(0), "c1", "t1", 0.0), ("b", at(1), "c1", "t1", 5.0))
    assert feature(table, "amount_vs_card_mean_30d") == [1.0, 1.0]
    assert feature(table, "card_mean_amount_7d") == [0.0, 2.5]


def test_ties_are_ordered_by_transaction_id() -> None:
    table = frame(("b", at(0), "c1", "t1", 30.0), ("a", at(0), "c1", "t1", 10.0))
    assert feature(table, "card_count_1d") == [2, 1]
    assert feature(table, "amount_vs_card_mean_30d") == [3.0, 1.0]


def test_times_are_truncated_to_microseconds_before_ordering() -> None:
    table = frame(
        ("b", pd.Timestamp("2024-03-04 00:00:00.000001100", tz="UTC"), "c1", "t1", 1.0),
        ("a", pd.Timestamp("2024-03-04 00:00:00.000001900", tz="UTC"), "c1", "t1", 1.0),
    )
    assert feature(table, "card_count_1d") == [2, 1]


def test_calendar_features_are_in_utc() -> None:
    table = frame(
        ("a", "2024-03-09 23:30", "c1", "t1", 1.0),  # Saturday
        ("b", "2024-03-10 12:15", "c1", "t1", 1.0),  # Sunday
        ("c", "2024-03-11 05:59:24", "c1", "t1", 1.0),  # Monday
        ("d", "2024-03-11 06:00", "c1", "t1", 1.0),
        ("e", "2024-03-11 21:59", "c1", "t1", 1.0),
        ("f", "2024-03-11 22:00", "c1", "t1", 1.0),
        ("g", "2024-03-12 01:00+02:00", "c1", "t1", 1.0),  # Monday 23:00 UTC
    )
    assert feature(table, "hour") == pytest.approx([23.5, 12.25, 5.99, 6.0, 21 + 59 / 60, 22, 23])
    assert feature(table, "is_weekend") == [1, 1, 0, 0, 0, 0, 0]
    assert feature(table, "is_night") == [1, 0, 1, 0, 0, 1, 1]


def test_terminal_frauds_count_only_once_the_delay_has_passed() -> None:
    table = frame(
        ("fraud", at(0, 12), "c1", "t1", 10.0, 1),
        ("genuine", at(0, 12), "c2", "t1", 10.0, 0),
        ("unlabelled", at(0, 12), "c3", "t1", 10.0),
        ("3 days", at(3, 12), "c4", "t1", 10.0),
        ("8 days", at(8, 6), "c5", "t1", 10.0),
        ("elsewhere", at(8, 6), "c6", "t2", 10.0),
    )
    counts = feature(table, "terminal_count_1d")
    rates = feature(table, "terminal_fraud_rate_1d")
    ids = table["transaction_id"].tolist()
    assert dict(zip(ids, counts, strict=True)) == {
        "fraud": 0,
        "genuine": 0,
        "unlabelled": 0,
        "3 days": 0,
        "8 days": 3,
        "elsewhere": 0,
    }
    assert rates[ids.index("3 days")] == 0.0
    assert rates[ids.index("8 days")] == pytest.approx(1 / 3)
    assert feature(table, "terminal_fraud_rate_30d")[ids.index("8 days")] == pytest.approx(1 / 3)


def test_terminal_windows_are_delayed_and_exclude_their_start() -> None:
    table = frame(
        ("old", at(0), "c1", "t1", 1.0, 1),
        ("upper", at(7), "c2", "t1", 1.0),  # old is exactly D days earlier: counts
        ("inside", at(7, 1), "c3", "t1", 1.0),
        ("edge", at(8), "c4", "t1", 1.0),  # old is exactly D + 1 days earlier
    )
    assert feature(table, "terminal_count_1d") == [0, 1, 1, 0]
    assert feature(table, "terminal_count_7d") == [0, 1, 1, 1]
    assert feature(table, "terminal_fraud_rate_7d") == [0, 1, 1, 1]


def test_without_delay_labels_count_for_every_later_transaction_only() -> None:
    config = FeatureConfig(delay_days=0)
    table = frame(
        ("b", at(0), "c1", "t1", 1.0, 1),
        ("a", at(0), "c2", "t1", 1.0, 0),
        ("c", at(0), "c3", "t1", 1.0),
    )
    assert feature(table, "terminal_count_1d", config) == [1, 0, 2]
    assert feature(table, "terminal_fraud_rate_1d", config) == [0.0, 0.0, 0.5]


def test_missing_label_column_means_no_frauds() -> None:
    table = frame(("a", at(0), "c1", "t1", 1.0, 1), ("b", at(9), "c1", "t1", 1.0))
    assert feature(table, "terminal_fraud_rate_30d") == [0.0, 1.0]
    assert feature(table.drop(columns="is_fraud"), "terminal_fraud_rate_30d") == [0.0, 0.0]


def test_any_row_order_gives_the_same_features_on_the_input_index() -> None:
    table = random_stream(np.random.default_rng(42), 400)
    expected = offline_features(table)
    shuffled = table.sample(frac=1.0, random_state=7)
    relabelled = shuffled.set_axis([f"row{i}" for i in range(len(shuffled))])
    got = offline_features(relabelled)
    assert list(got.index) == list(relabelled.index)
    assert list(got.columns) == list(FEATURE_NAMES)
    assert (got.dtypes == np.float64).all()
    np.testing.assert_array_equal(got.to_numpy(), expected.loc[shuffled.index].to_numpy())


def test_an_empty_history_has_no_rows() -> None:
    table = frame(("a", at(0), "c1", "t1", 1.0)).iloc[:0]
    got = offline_features(table)
    assert got.shape == (0, len(FEATURE_NAMES))
    assert list(got.columns) == list(FEATURE_NAMES)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda t: t.drop(columns="terminal_id"), "terminal_id"),
        (lambda t: t.assign(timestamp=t["timestamp"].dt.tz_localize(None)), "timestamp"),
        (lambda t: t.assign(transaction_id=["a", "a"]), "transaction_id"),
        (lambda t: t.assign(customer_id=[1, 2]), "customer_id"),
        (lambda t: t.assign(terminal_id=["t1", None]), "terminal_id"),
        (lambda t: t.assign(amount=[1.0, -1.0]), "amount"),
        (lambda t: t.assign(amount=[1.0, np.inf]), "amount"),
        (lambda t: t.assign(is_fraud=[1, 2]), "is_fraud"),
        (lambda t: t.assign(is_fraud=["1", "yes"]), "is_fraud"),
    ],
)
def test_offline_features_refuse_bad_frames(change, field: str) -> None:  # type: ignore[no-untyped-def]
    table = frame(("a", at(0), "c1", "t1", 1.0), ("b", at(1), "c1", "t1", 1.0))
    with pytest.raises(ValidationError) as info:
        offline_features(change(table))
    assert info.value.field == field


# -- online -------------------------------------------------------------------------------


def tx(
    transaction_id: str,
    when: datetime,
    card: str = "c1",
    terminal: str = "t1",
    amount: float | Decimal = 10.0,
) -> Tx:
    return Tx(transaction_id, when, card, terminal, amount)


def test_online_features_do_not_change_state_and_ignore_their_own_record(store: StateStore) -> None:
    online = OnlineFeatures(store)
    online.record(tx("a", at(0), amount=10.0))
    event = tx("b", at(0, 1), amount=30.0)
    before = online.features(event)
    assert online.features(event) == before
    assert online.record(event) is True
    assert online.features(event) == before
    assert online.record(event) is False
    assert list(before) == list(FEATURE_NAMES)
    assert before["card_count_1d"] == 2.0
    assert before["card_mean_amount_1d"] == 20.0
    assert before["amount_vs_card_mean_30d"] == 3.0


def test_labels_count_online_after_the_delay(store: StateStore) -> None:
    online = OnlineFeatures(store)
    online.record(tx("fraud", at(0, 12), card="c1"))
    assert online.label("fraud", 1) is True
    assert online.label("unknown", True) is False
    assert online.features(tx("x", at(3, 12), card="c2"))["terminal_count_30d"] == 0.0
    late = online.features(tx("y", at(8, 6), card="c2"))
    assert late["terminal_count_1d"] == 1.0
    assert late["terminal_fraud_rate_1d"] == 1.0
    online.label("fraud", False)
    assert online.features(tx("y", at(8, 6), card="c2"))["terminal_fraud_rate_1d"] == 0.0


def test_events_too_late_for_their_card_or_terminal_are_refused(store: StateStore) -> None:
    online = OnlineFeatures(store, max_lateness=timedelta(hours=2))
    online.record(tx("new", at(10), card="c1", terminal="t1"))
    assert online.record(tx("ok", at(10, -2), card="c2", terminal="t1")) is True
    for late in (
        tx("late1", at(10, -3), card="c1", terminal="t9"),
        tx("late2", at(10, -3), card="c9", terminal="t1"),
    ):
        with pytest.raises(ValidationError) as info:
            online.features(late)
        assert info.value.field == "timestamp"
        with pytest.raises(ValidationError) as info:
            online.record(late)
        assert info.value.field == "timestamp"
    after = online.features(tx("next", at(10, 1), card="c1", terminal="t1"))
    assert after["card_count_1d"] == 2.0
    assert (
        online.features(tx("fresh", at(10, -3), card="c8", terminal="t8"))["card_count_1d"] == 1.0
    )


def test_online_accepts_any_aware_timestamp_and_decimal_amounts() -> None:
    online = OnlineFeatures(MemoryStore())
    online.record(tx("a", datetime(2024, 3, 4, 10, tzinfo=UTC), amount=Decimal("10.00")))
    plus_two = timezone(timedelta(hours=2))
    as_datetime = online.features(tx("b", datetime(2024, 3, 4, 13, tzinfo=plus_two), amount=5.0))
    as_pandas = online.features(tx("b", pd.Timestamp("2024-03-04 11:00", tz="UTC"), amount=5.0))
    assert as_datetime == as_pandas
    assert as_datetime["hour"] == 11.0
    assert as_datetime["card_mean_amount_1d"] == 7.5


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (tx("a", datetime(2024, 3, 4)), "timestamp"),
        (tx("a", pd.NaT), "timestamp"),  # type: ignore[arg-type]
        (tx("", at(0)), "transaction_id"),
        (tx("a", at(0), card=""), "customer_id"),
        (tx("a\0b", at(0)), "transaction_id"),
        (tx("a", at(0), terminal=7), "terminal_id"),  # type: ignore[arg-type]
        (tx("a", at(0), amount=-1.0), "amount"),
        (tx("a", at(0), amount=float("nan")), "amount"),
        (tx("a", at(0), amount="10"), "amount"),  # type: ignore[arg-type]
    ],
)
def test_online_refuses_bad_events(event: Tx, field: str) -> None:
    online = OnlineFeatures(MemoryStore())
    for call in (online.features, online.record):
        with pytest.raises(ValidationError) as info:
            call(event)
        assert info.value.field == field


def test_online_refuses_bad_labels_and_settings() -> None:
    online = OnlineFeatures(MemoryStore())
    for value in (2, 0.5, "1", None):
        with pytest.raises(ValidationError) as info:
            online.label("a", value)  # type: ignore[arg-type]
        assert info.value.field == "is_fraud"
    with pytest.raises(ValidationError):
        online.label("", 1)
    with pytest.raises(ValidationError) as info:
        OnlineFeatures(MemoryStore(), max_lateness=timedelta(seconds=-1))
    assert info.value.field == "max_lateness"
    assert OnlineFeatures(MemoryStore()).retention == timedelta(days=38)


# -- offline == online --------------------------------------------------------------------


def random_stream(rng: np.random.Generator, n: int, days: int = 90) -> pd.DataFrame:
    """A seeded stream: 20 cards, 8 terminals, whole minutes (ties), a few frauds."""
    minutes = np.sort(rng.integers(0, days * 24 * 60, n))
    table = pd.DataFrame(
        {
            "transaction_id": [f"tx{i:05d}" for i in rng.permutation(n)],
            "timestamp": DAY0 + pd.to_timedelta(minutes, unit="min"),
            "customer_id": [f"c{i}" for i in rng.integers(0, 20, n)],
            "terminal_id": [f"t{i}" for i in rng.integers(0, 8, n)],
            "amount": np.round(rng.gamma(2.0, 40.0, n), 2),
            "is_fraud": np.where(rng.random(n) < 0.8, (rng.random(n) < 0.2).astype(float), np.nan),
        }
    )
    return table.sort_values(["timestamp", "transaction_id"], ignore_index=True)


def replay(online: OnlineFeatures, table: pd.DataFrame) -> pd.DataFrame:
    """Score each event, record it, then record its label (if any), in event order."""
    rows = []
    for event in table.itertuples(index=False):
        rows.append(online.features(event))  # type: ignore[arg-type]
        online.record(event)  # type: ignore[arg-type]
        if not np.isnan(event.is_fraud):
            online.label(event.transaction_id, int(event.is_fraud))
    return pd.DataFrame(rows, columns=list(online.config.feature_names), index=table.index)


def assert_same(online: pd.DataFrame, offline: pd.DataFrame) -> None:
    assert list(online.columns) == list(offline.columns)
    np.testing.assert_allclose(online.to_numpy(), offline.to_numpy(), rtol=1e-9, atol=1e-9)


def test_online_equals_offline_on_a_long_stream(store: StateStore) -> None:
    table = random_stream(np.random.default_rng(42), 1_500)
    assert_same(replay(OnlineFeatures(store), table), offline_features(table))


CONFIGS = [
    FeatureConfig(),
    FeatureConfig(delay_days=0),
    FeatureConfig(windows=(1, 3), delay_days=2),
]


@st.composite
def streams(draw: st.DrawFn) -> pd.DataFrame:
    """Few cards and terminals, times on a half-hour grid over ~60 days (ties, edges)."""
    n = draw(st.integers(1, 30))
    ids = draw(
        st.lists(st.text("abz", min_size=1, max_size=3), min_size=n, max_size=n, unique=True)
    )
    slots = st.one_of(st.integers(0, 60 * 48), st.sampled_from([0, 48, 96, 336, 480, 1440]))
    times = [at(hours=slot / 2) for slot in draw(st.lists(slots, min_size=n, max_size=n))]
    amounts = st.one_of(st.sampled_from([0.0, 0.1, 10.0, 33.3]), st.floats(0, 1e4))
    rows = [
        (
            ids[i],
            times[i],
            draw(st.sampled_from(["c0", "c1", "c2"])),
            draw(st.sampled_from(["t0", "t1"])),
            draw(amounts),
            draw(st.sampled_from([0.0, 1.0, np.nan])),
        )
        for i in range(n)
    ]
    table = frame(*rows)
    return table.sort_values(["timestamp", "transaction_id"], ignore_index=True)


@settings(max_examples=200, deadline=None)
@given(table=streams(), config=st.sampled_from(CONFIGS))
def test_online_equals_offline_with_memory_store(
    table: pd.DataFrame, config: FeatureConfig
) -> None:
    online = replay(OnlineFeatures(MemoryStore(), config), table)
    assert_same(online, offline_features(table, config))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=streams(), config=st.sampled_from(CONFIGS))
def test_online_equals_offline_with_redis_store(
    redis_client: redis.Redis, table: pd.DataFrame, config: FeatureConfig
) -> None:
    prefix = f"finai:test:{uuid.uuid4().hex}:"
    try:
        online = replay(OnlineFeatures(RedisStore(redis_client, prefix), config), table)
        assert_same(online, offline_features(table, config))
    finally:
        drop_keys(redis_client, prefix)


# -- batches: features_and_record == features then record, one by one --------------------


class Counting:
    """A store that counts the calls of its methods."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self.store, name)


def test_a_batch_is_read_and_recorded_in_one_round_trip_per_wave() -> None:
    counting = Counting(MemoryStore())
    online = OnlineFeatures(counting)  # type: ignore[arg-type]
    apart = [tx(f"a{i}", at(0, i), card=f"c{i}", terminal=f"t{i}") for i in range(50)]
    batch = online.features_and_record(apart)
    assert counting.calls == {"read_many": 1, "record_many": 1}
    assert batch.values.shape == (50, len(FEATURE_NAMES)) and batch.outcomes == tuple(range(50))
    assert batch.names == FEATURE_NAMES
    # the same card three times, the same terminal twice: three waves
    counting.calls.clear()
    shared = [
        tx("s1", at(1), card="c0", terminal="t9"),
        tx("s2", at(1, 1), card="c0", terminal="t8"),
        tx("s3", at(1, 2), card="cx", terminal="t8"),
        tx("s4", at(1, 3), card="c0", terminal="t7"),
    ]
    batch = online.features_and_record(shared)
    assert counting.calls == {"read_many": 3, "record_many": 3}
    counts = [batch.features(i)["card_count_7d"] for i in range(4)]  # type: ignore[index]
    assert counts == [2.0, 3.0, 1.0, 4.0]  # c0 had a0; each sees the batch's earlier ones
    assert online.features_and_record([]).values.shape == (0, len(FEATURE_NAMES))


def test_a_batch_reports_refused_events_in_place_and_records_them_not() -> None:
    online = OnlineFeatures(MemoryStore(), max_lateness=timedelta(hours=2))
    batch = online.features_and_record(
        [
            tx("a", at(10)),
            tx("bad", at(10), amount=-1.0),
            tx("late", at(10, -3), card="c2"),  # too late for t1, after a
            tx("b", at(10, 1)),
            tx("a", at(10, 2), card="c3", terminal="t3"),  # a repeat: features, no record
        ]
    )
    errors = [o.field if isinstance(o, ValidationError) else o for o in batch.outcomes]
    assert errors == [0, "amount", "timestamp", 1, 2]
    assert batch.features(3)["card_count_1d"] == 2.0  # type: ignore[index]
    assert online.features(tx("next", at(10, 3)))["card_count_1d"] == 3.0
    assert online.features(tx("next", at(10, 3), card="c3"))["card_count_1d"] == 1.0


TOO_FAR = 10**17  # after every generated time: probes of who keeps which id
STEPS_HOURS = [-30.0, -3.0, 0.0, 0.0, 0.5, 1.0, 5.0, 24.0, 8 * 24.0, 20 * 24.0]


@st.composite
def event_batches(
    draw: st.DrawFn,
) -> tuple[list[list[Tx]], list[list[tuple[str, bool]]], timedelta]:
    """Batches of events with repeated cards, terminals and ids, ties, late and invalid
    events, trims (jumps over the retention); labels of seen ids between batches."""
    pool = draw(
        st.lists(st.text("abz", min_size=1, max_size=2), min_size=1, max_size=8, unique=True)
    )
    n = draw(st.integers(1, 40))
    hours = 0.0
    events: list[Tx] = []
    for _ in range(n):
        hours += draw(st.sampled_from(STEPS_HOURS))
        amount = draw(st.one_of(st.sampled_from([0.0, 0.1, 10.0, 33.3, -1.0]), st.floats(0, 1e4)))
        events.append(
            tx(
                draw(st.sampled_from(pool)),
                at(hours=hours),
                card=draw(st.sampled_from(["c0", "c1", "c2"])),
                terminal=draw(st.sampled_from(["t0", "t1", "t2"])),
                amount=amount,
            )
        )
    cuts = sorted(draw(st.sets(st.integers(1, max(1, n - 1)), max_size=4)) | {0, n})
    batches = [events[a:b] for a, b in pairwise(cuts) if a < b]
    labels = [
        draw(st.lists(st.tuples(st.sampled_from(pool), st.booleans()), max_size=3)) for _ in batches
    ]
    lateness = draw(st.sampled_from([timedelta(days=1), timedelta(hours=2), timedelta(0)]))
    return batches, labels, lateness


def outcome(value: dict[str, float] | ValidationError) -> object:
    return (value.field, str(value)) if isinstance(value, ValidationError) else value


def one_by_one(online: OnlineFeatures, events: Sequence[Tx]) -> list[object]:
    found: list[object] = []
    for event in events:
        try:
            features = online.features(event)
            online.record(event)
        except ValidationError as exc:
            found.append(outcome(exc))
        else:
            found.append(features)
    return found


def final_state(store: StateStore, ids: Sequence[str]) -> list[object]:
    everything = Span(-(2**62), 2**62)
    views: list[object] = [
        store.read(card, terminal, card_span=everything, terminal_span=everything)
        for card in ("c0", "c1", "c2")
        for terminal in ("t0", "t1", "t2")
    ]
    labelled = [store.label(i, True) for i in ids]  # still kept (not forgotten)
    taken = [
        store.record(
            f"p{i}", f"p{i}", StoredEvent(i, TOO_FAR, 0.0), retention_us=1, max_lateness_us=0
        )
        for i in ids
    ]
    return [*views, labelled, taken]


def assert_batches_match(
    batched: OnlineFeatures,
    sequential: OnlineFeatures,
    batches: list[list[Tx]],
    labels: list[list[tuple[str, bool]]],
) -> None:
    for events, verdicts in zip(batches, labels, strict=True):
        batch = batched.features_and_record(events)
        got = [outcome(batch.features(i)) for i in range(len(events))]
        assert got == one_by_one(sequential, events)  # exactly, not to rounding
        for transaction_id, is_fraud in verdicts:
            assert batched.label(transaction_id, is_fraud) == sequential.label(
                transaction_id, is_fraud
            )
    ids = sorted({e.transaction_id for events in batches for e in events})
    assert final_state(batched.store, ids) == final_state(sequential.store, ids)


@settings(max_examples=300, deadline=None)
@given(case=event_batches(), config=st.sampled_from(CONFIGS))
def test_a_batch_equals_its_events_one_by_one_with_memory_store(
    case: tuple[list[list[Tx]], list[list[tuple[str, bool]]], timedelta], config: FeatureConfig
) -> None:
    batches, labels, lateness = case
    batched = OnlineFeatures(MemoryStore(), config, max_lateness=lateness)
    sequential = OnlineFeatures(MemoryStore(), config, max_lateness=lateness)
    assert_batches_match(batched, sequential, batches, labels)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=event_batches(), config=st.sampled_from(CONFIGS))
def test_a_batch_equals_its_events_one_by_one_with_redis_store(
    redis_client: redis.Redis,
    case: tuple[list[list[Tx]], list[list[tuple[str, bool]]], timedelta],
    config: FeatureConfig,
) -> None:
    batches, labels, lateness = case
    prefixes = [f"finai:test:{uuid.uuid4().hex}:" for _ in range(2)]
    try:
        batched, sequential = (
            OnlineFeatures(RedisStore(redis_client, prefix), config, max_lateness=lateness)
            for prefix in prefixes
        )
        assert_batches_match(batched, sequential, batches, labels)
    finally:
        for prefix in prefixes:
            drop_keys(redis_client, prefix)
