"""The stream consumer: every message scored once, bad ones dead-lettered, crashes resumed.

Real Redis (streams and state under a fresh prefix per test) and the real database.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
from sqlalchemy.orm import Session

from finai.context import Platform
from finai.exceptions import ValidationError
from finai.fraud.records import Alert, StoredScore, list_alerts, recent_scores
from finai.fraud.scoring import FraudScorer, ScoreResult, Transaction
from finai.fraud.state import MemoryStore, StateStore, StateUnavailable
from finai.fraud.state_redis import RedisStore
from finai.fraud.stream import GROUP, Consumer, ConsumeStats, StreamConfig, publish
from finai.fraud.thresholds import Action
from tests.conftest import drop_keys, unique_prefix
from tests.fraud.simulations import TEST_START, history, trained

MODEL = "fraud-stream"
FIELDS = ["transaction_id", "timestamp", "customer_id", "terminal_id", "amount"]


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A fresh key prefix for the streams and the state; its keys are dropped afterwards."""
    value = unique_prefix()
    yield value
    drop_keys(redis_client, value)


def config(prefix: str, **changes: Any) -> StreamConfig:
    values: dict[str, Any] = {
        "stream": f"{prefix}in",
        "output": f"{prefix}out",
        "dead": f"{prefix}dead",
        "consumer": "c1",
        "block_ms": 20,
        "retry_ms": 0,
    }
    return StreamConfig(**{**values, **changes})


def scorer(client: redis.Redis, prefix: str) -> FraudScorer:
    return FraudScorer(trained().model, MODEL, 1, RedisStore(client, prefix=prefix))


def consumer(platform: Platform, client: Any, prefix: str, **changes: Any) -> Consumer:
    return Consumer(
        client, scorer(client, prefix), platform.sessions, platform.audit_key,
        config(prefix, **changes),
    )  # fmt: skip


def transactions(n: int) -> list[dict[str, object]]:
    """``n`` simulated transactions of the test period, in time order."""
    frame = history()
    frame = frame[frame["timestamp"] >= pd.Timestamp(TEST_START, tz="UTC")].head(n)
    return frame[FIELDS].to_dict("records")  # type: ignore[return-value]


def entries(client: redis.Redis, stream: str) -> list[dict[str, str]]:
    return [
        {k.decode(): v.decode(errors="replace") for k, v in values.items()}
        for _, values in client.xrange(stream)
    ]


def stored(platform: Platform) -> list[StoredScore]:
    with platform.sessions() as session:
        return recent_scores(session, limit=100_000)


def alerts(platform: Platform) -> list[Alert]:
    with platform.sessions() as session:
        return list_alerts(session, limit=100_000)


def card_events(client: redis.Redis, prefix: str) -> int:
    """Events the state holds, all cards together."""
    return sum(int(client.zcard(key)) for key in client.scan_iter(match=f"{prefix}card:*"))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def pending(client: redis.Redis, prefix: str) -> int:
    return int(client.xpending(f"{prefix}in", GROUP)["pending"])


# -- the happy path ------------------------------------------------------------------------


def test_every_message_is_scored_stored_and_written_once(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    txs = transactions(300)
    ids = publish(redis_client, txs, f"{prefix}in")
    assert len(ids) == 300
    seen: list[ConsumeStats] = []
    stats = consumer(platform, redis_client, prefix, batch=64).run(
        max_messages=300, progress=seen.append
    )
    assert (stats.messages, stats.scored, stats.dead, stats.replayed) == (300, 300, 0, 0)
    assert stats.batches == 5 and [s.messages for s in seen] == [64, 128, 192, 256, 300]
    assert stats.seconds > 0 and stats.rate > 0
    out = entries(redis_client, f"{prefix}out")
    assert [o["transaction_id"] for o in out] == [t["transaction_id"] for t in txs]
    assert [o["message_id"] for o in out] == ids
    # the same answers as scoring one by one
    reference = FraudScorer(trained().model, MODEL, 1, MemoryStore())
    for o, t in zip(out, txs, strict=True):
        expected = reference.score(Transaction.from_mapping(t))
        assert float(o["score"]) == pytest.approx(expected.score, abs=1e-9)
        assert o["action"] == expected.action.value
        reasons = json.loads(o["reasons"])
        assert [r["feature"] for r in reasons] == [r.feature for r in expected.reasons]
        assert bool(reasons) == (expected.action is not Action.ALLOW)
        assert (o["model_name"], o["model_version"]) == (MODEL, "1")
        assert (o["replayed"], o["degraded"]) == ("0", "0")
        assert datetime.fromisoformat(o["scored_at"]).tzinfo is not None
    rows = stored(platform)
    assert len(rows) == 300
    assert {(r.source, r.actor) for r in rows} == {("stream", "stream:c1")}
    alerted = {o["transaction_id"] for o in out if o["action"] != "allow"}
    assert alerted and {a.transaction_id for a in alerts(platform)} == alerted
    assert stats.alerts == len(alerted)
    assert pending(redis_client, prefix) == 0 and card_events(redis_client, prefix) == 300
    assert entries(redis_client, f"{prefix}dead") == []


def test_an_empty_stream_ends_on_idle_exit_and_a_stop_event(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    worker = consumer(platform, redis_client, prefix)
    assert worker.step() == ConsumeStats()
    assert worker.run(idle_exit=0.05) == ConsumeStats()
    stop = threading.Event()
    stop.set()
    assert worker.run(stop) == ConsumeStats()


# -- bad input -----------------------------------------------------------------------------


def test_malformed_messages_go_to_dead_letters_with_the_reason_and_the_rest_goes_on(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    good = transactions(5)
    first = good[1]
    assert isinstance(first["timestamp"], datetime)
    too_late = {
        **first,
        "transaction_id": "late",
        "timestamp": first["timestamp"] - timedelta(days=3),
    }
    bad: list[tuple[dict[str, object], str, str]] = [
        ({**good[0], "transaction_id": None, "channel": "web"}, "transaction_id", "required"),
        ({**good[0], "transaction_id": "b1", "timestamp": "yesterday"}, "timestamp", "ISO 8601"),
        ({**good[0], "transaction_id": "b2", "amount": -5.0}, "amount", "negative"),
        ({**good[0], "transaction_id": "b3", "amount": float("nan")}, "amount", "finite"),
        ({**good[0], "transaction_id": "b4", "amount": "inf"}, "amount", "finite"),
        ({**good[0], "transaction_id": "b5", "customer_id": "  "}, "customer_id", "required"),
        ({**good[0], "transaction_id": b"\xff\xfe"}, "", "not UTF-8"),
        ({**good[0], "transaction_id": "b6", "amount": "x", "reason": "mine"}, "amount", "number"),
    ]  # fmt: skip
    messages = [good[0], *(m for m, _, _ in bad), good[1], too_late, *good[2:]]
    ids = publish(redis_client, messages, f"{prefix}in")
    stats = consumer(platform, redis_client, prefix, batch=4).run(max_messages=len(messages))
    assert (stats.messages, stats.scored, stats.dead) == (len(messages), 5, len(bad) + 1)
    dead = entries(redis_client, f"{prefix}dead")
    expected = [*((f, w) for _, f, w in bad), ("timestamp", "older than the newest event")]
    assert [d["message_id"] for d in dead] == [*ids[1 : len(bad) + 1], ids[len(bad) + 2]]
    for letter, (field, words) in zip(dead, expected, strict=True):
        assert letter["field"] == field and words in letter["reason"], letter
    assert dead[0]["channel"] == "web" and "transaction_id" not in dead[0]  # original fields
    assert dead[1]["timestamp"] == "yesterday" and dead[3]["amount"] == "nan"
    assert "not UTF-8" in dead[6]["reason"]
    assert redis_client.xrange(f"{prefix}dead")[6][1][b"transaction_id"] == b"\xff\xfe"
    assert dead[7]["reason"] != "mine"  # the consumer's fields win
    assert dead[8]["transaction_id"] == "late"
    out = entries(redis_client, f"{prefix}out")
    assert [o["transaction_id"] for o in out] == [t["transaction_id"] for t in good]
    assert {r.transaction_id for r in stored(platform)} == {str(t["transaction_id"]) for t in good}
    assert pending(redis_client, prefix) == 0
    assert card_events(redis_client, prefix) == 5  # the late one changed nothing


def test_duplicate_transaction_ids_are_answered_again_but_counted_once(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    txs = transactions(20)
    changed = {**txs[5], "amount": 9999.0}  # same id, other content: the first answer wins
    messages = [*txs[:4], txs[1], *txs[4:], txs[3], changed]  # one repeat within a batch
    publish(redis_client, messages, f"{prefix}in")
    stats = consumer(platform, redis_client, prefix, batch=8).run(max_messages=len(messages))
    assert (stats.scored, stats.replayed, stats.dead) == (23, 3, 0)
    out = entries(redis_client, f"{prefix}out")
    assert [o["transaction_id"] for o in out] == [m["transaction_id"] for m in messages]
    firsts: dict[str, dict[str, str]] = {}
    for o in out:
        first = firsts.setdefault(o["transaction_id"], o)
        if first is not o:
            assert o["replayed"] == "1"
            assert (o["score"], o["action"], o["scored_at"]) == (
                first["score"], first["action"], first["scored_at"],
            )  # fmt: skip
        else:
            assert o["replayed"] == "0"
    rows = stored(platform)
    assert len(rows) == 20
    assert (
        next(r for r in rows if r.transaction_id == txs[5]["transaction_id"]).amount
        == (txs[5]["amount"])
    )
    assert len(alerts(platform)) == sum(f["action"] != "allow" for f in firsts.values())
    assert card_events(redis_client, prefix) == 20
    # the producer sends everything again: nothing new is stored or counted
    publish(redis_client, messages, f"{prefix}in")
    again = consumer(platform, redis_client, prefix).run(max_messages=len(messages))
    assert (again.scored, again.replayed, again.alerts) == (23, 23, 0)
    assert len(stored(platform)) == 20 and card_events(redis_client, prefix) == 20


# -- crashes -------------------------------------------------------------------------------


class Crash(Exception):
    """The process dies here."""


def crashing_sessions(platform: Platform) -> Callable[[], Session]:
    """Sessions whose commit never happens."""

    def make() -> Session:
        session = platform.sessions()

        def commit() -> None:
            raise Crash("the process died before the commit")

        session.commit = commit  # type: ignore[method-assign]
        return session

    return make


class NoSettling:
    """A Redis client that dies when writing results and acknowledgements (a ``MULTI``)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def pipeline(self, transaction: bool = True) -> Any:
        if transaction:
            raise Crash("the process died after the commit")
        return self._client.pipeline(transaction=False)  # the state store's batches


def test_after_a_crash_before_the_commit_the_consumer_resumes_its_pending_messages(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    txs = transactions(100)
    publish(redis_client, txs, f"{prefix}in")
    crashed = Consumer(
        redis_client, scorer(redis_client, prefix), crashing_sessions(platform),
        platform.audit_key, config(prefix, consumer="a", batch=40),
    )  # fmt: skip
    with pytest.raises(Crash):
        crashed.step()
    assert pending(redis_client, prefix) == 40
    assert stored(platform) == [] and entries(redis_client, f"{prefix}out") == []
    assert card_events(redis_client, prefix) == 40  # the state had recorded them
    # the same consumer comes back (a new process): its pending messages first
    stats = consumer(platform, redis_client, prefix, consumer="a", batch=40).run(max_messages=100)
    assert (stats.messages, stats.scored, stats.replayed) == (100, 100, 40)
    out = entries(redis_client, f"{prefix}out")
    assert [o["transaction_id"] for o in out] == [t["transaction_id"] for t in txs]
    assert [o["replayed"] for o in out] == ["1"] * 40 + ["0"] * 60
    assert len(stored(platform)) == 100 and card_events(redis_client, prefix) == 100
    assert len(alerts(platform)) == sum(o["action"] != "allow" for o in out) == stats.alerts
    assert pending(redis_client, prefix) == 0


def test_another_consumer_claims_the_messages_of_one_that_died_after_the_commit(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    txs = transactions(100)
    publish(redis_client, txs, f"{prefix}in")
    dying = consumer(platform, NoSettling(redis_client), prefix, consumer="a", batch=40)
    with pytest.raises(Crash):
        dying.step()
    assert len(stored(platform)) == 40 and entries(redis_client, f"{prefix}out") == []
    opened = len(alerts(platform))
    # "b" takes over what "a" left pending (idle for at least 0 ms here)
    stats = consumer(platform, redis_client, prefix, consumer="b", claim_idle_ms=0).run(
        max_messages=100
    )
    assert (stats.messages, stats.scored, stats.replayed) == (100, 100, 40)
    out = entries(redis_client, f"{prefix}out")
    assert sorted(o["transaction_id"] for o in out) == sorted(str(t["transaction_id"]) for t in txs)
    assert len(stored(platform)) == 100 and card_events(redis_client, prefix) == 100
    assert len(alerts(platform)) == opened + stats.alerts
    assert len(alerts(platform)) == sum(o["action"] != "allow" for o in out)
    assert pending(redis_client, prefix) == 0
    consumers = redis_client.xinfo_consumers(f"{prefix}in", GROUP)
    assert {_text(c["name"]): c["pending"] for c in consumers} == {"a": 0, "b": 0}


def test_a_message_deleted_while_pending_goes_to_the_dead_letters(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    ids = publish(redis_client, transactions(3), f"{prefix}in")
    crashed = Consumer(
        redis_client, scorer(redis_client, prefix), crashing_sessions(platform),
        platform.audit_key, config(prefix),
    )  # fmt: skip
    with pytest.raises(Crash):
        crashed.step()
    redis_client.xdel(f"{prefix}in", ids[1])
    stats = consumer(platform, redis_client, prefix).run(max_messages=3)
    assert (stats.scored, stats.dead) == (2, 1)
    (letter,) = entries(redis_client, f"{prefix}dead")
    assert letter["message_id"] == ids[1] and "deleted" in letter["reason"]
    assert pending(redis_client, prefix) == 0


class Flaky:
    """A state store whose ``method`` is unreachable ``failures`` times after ``after`` calls."""

    def __init__(self, store: StateStore, method: str, *, failures: int, after: int) -> None:
        self.store = store
        self.method = method
        self.failures = failures
        self.after = after
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if name != self.method:
            return attribute

        def flaky(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls > self.after and self.failures > 0:
                self.failures -= 1
                raise StateUnavailable("Redis is unreachable (ConnectionError)")
            return attribute(*args, **kwargs)

        return flaky


@pytest.mark.parametrize("method", ["read_many", "record_many", "remember_many"])
def test_a_state_store_outage_leaves_the_batch_pending_and_it_is_retried_not_degraded(
    platform: Platform, redis_client: redis.Redis, prefix: str, method: str
) -> None:
    txs = transactions(50)
    publish(redis_client, txs, f"{prefix}in")
    flaky = Flaky(RedisStore(redis_client, prefix=prefix), method, failures=2, after=1)
    worker = Consumer(
        redis_client, FraudScorer(trained().model, MODEL, 1, flaky),  # type: ignore[arg-type]
        platform.sessions, platform.audit_key, config(prefix, batch=25),
    )  # fmt: skip
    seen: list[ConsumeStats] = []
    stats = worker.run(max_messages=50, progress=seen.append)
    assert (stats.messages, stats.scored, stats.retries) == (50, 50, 2)
    assert [s.retries for s in seen if s.retries][:2] == [1, 2]  # reported as they happen
    assert len(stored(platform)) == 50 and not any(r.degraded for r in stored(platform))
    out = entries(redis_client, f"{prefix}out")
    assert {o["degraded"] for o in out} == {"0"}
    # the retried batch was recorded once, and scored as if nothing had failed
    assert card_events(redis_client, prefix) == 50 and pending(redis_client, prefix) == 0
    reference = FraudScorer(trained().model, MODEL, 1, MemoryStore())
    expected = reference.score_batch([Transaction.from_mapping(t) for t in txs])
    assert [float(o["score"]) for o in out] == [
        r.score for r in expected if isinstance(r, ScoreResult)
    ]
    assert {o["replayed"] for o in out} == {"0"}


class Counting:
    """A state store that counts the calls of its methods."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self.store, name)


def test_a_batch_costs_the_state_a_few_round_trips_not_three_per_message(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    publish(redis_client, transactions(120), f"{prefix}in")
    counting = Counting(RedisStore(redis_client, prefix=prefix))
    worker = Consumer(
        redis_client, FraudScorer(trained().model, MODEL, 1, counting),  # type: ignore[arg-type]
        platform.sessions, platform.audit_key, config(prefix, batch=60),
    )  # fmt: skip
    assert worker.run(max_messages=120).scored == 120
    calls = counting.calls
    assert calls["read"] == calls["record"] == calls["remember"] == 0
    assert calls["remember_many"] == 2
    assert 2 <= calls["read_many"] == calls["record_many"] <= 10  # a few waves per batch


def test_the_scorer_in_force_is_asked_per_batch(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    asked: list[Session] = []
    chosen = scorer(redis_client, prefix)

    def current(session: Session) -> FraudScorer:
        asked.append(session)
        return chosen

    publish(redis_client, transactions(10), f"{prefix}in")
    worker = Consumer(
        redis_client, current, platform.sessions, platform.audit_key, config(prefix, batch=4)
    )
    assert worker.run(max_messages=10).scored == 10
    assert len(asked) == 3


# -- contract details ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"batch": 0}, "batch"),
        ({"block_ms": 0}, "block_ms"),
        ({"claim_idle_ms": -1}, "claim_idle_ms"),
        ({"consumer": " "}, "consumer"),
        ({"output": "in"}, "output"),
        ({"maxlen": 0}, "maxlen"),
    ],
)
def test_config_refuses_bad_values(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StreamConfig(**{"stream": "in", **changes})
    assert caught.value.field == field


def test_config_defaults_and_actor() -> None:
    default = StreamConfig()
    assert (default.stream, default.group, default.output, default.dead) == (
        "finai:fraud:transactions", "finai-fraud", "finai:fraud:scores", "finai:fraud:dead",
    )  # fmt: skip
    assert default.consumer and default.batch == 200
    assert StreamConfig(consumer="x" * 100).actor == "stream:" + "x" * 25


def test_publish_writes_text_and_leaves_out_none(redis_client: redis.Redis, prefix: str) -> None:
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    ids = publish(
        redis_client,
        [{"transaction_id": 7, "timestamp": at, "amount": np.float64(0.1), "customer_id": None,
          "terminal_id": pd.Timestamp(at), "flag": True}] * 3,
        f"{prefix}in",
        chunk=2,
    )  # fmt: skip
    assert len(ids) == 3 and len(set(ids)) == 3
    (written, *_) = entries(redis_client, f"{prefix}in")
    assert written == {
        "transaction_id": "7", "timestamp": "2026-06-01T12:00:00+00:00", "amount": "0.1",
        "terminal_id": "2026-06-01T12:00:00+00:00", "flag": "true",
    }  # fmt: skip


def test_publish_and_run_refuse_what_cannot_work(
    platform: Platform, redis_client: redis.Redis, prefix: str
) -> None:
    with pytest.raises(ValidationError, match="at least one field"):
        publish(redis_client, [{"transaction_id": "a"}, {"transaction_id": None}], f"{prefix}in")
    assert int(redis_client.xlen(f"{prefix}in")) == 1  # the one before it went in
    with pytest.raises(ValidationError) as caught:
        publish(redis_client, [], f"{prefix}in", chunk=0)
    assert caught.value.field == "chunk"
    worker = consumer(platform, redis_client, prefix)
    for kwargs, field in [
        ({"max_messages": 0}, "max_messages"),
        ({"idle_exit": -1.0}, "idle_exit"),
    ]:
        with pytest.raises(ValidationError) as caught:
            worker.run(**kwargs)
        assert caught.value.field == field
