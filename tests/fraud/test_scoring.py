"""Scoring one transaction: validation, idempotency, the state, degraded answers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from finai.exceptions import ValidationError
from finai.fraud.features import OnlineFeatures
from finai.fraud.scoring import FraudScorer, ScoreResult, Transaction, state_store
from finai.fraud.state import MemoryStore, StateStore, StateUnavailable
from finai.fraud.state_redis import RedisStore
from finai.fraud.thresholds import Action
from tests.fraud.simulations import history, trained

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def tx(tid: str = "t1", *, card: str = "c1", terminal: str = "m1", amount: float = 20.0,
       at: datetime = T0) -> Transaction:  # fmt: skip
    return Transaction(tid, at, card, terminal, amount)


def scorer(store: StateStore, **kwargs: timedelta) -> FraudScorer:
    return FraudScorer(trained().model, "fraud", 3, store, **kwargs)


# -- Transaction.from_mapping ------------------------------------------------------------


def test_from_mapping_reads_text_numbers_and_naive_times_as_utc() -> None:
    got = Transaction.from_mapping(
        {"transaction_id": 17, "timestamp": "2026-06-01T12:00:00", "customer_id": " c1 ",
         "terminal_id": "m1", "amount": "12.50", "channel": "web"}
    )  # fmt: skip
    assert got == Transaction("17", T0, "c1", "m1", 12.5)
    offset = Transaction.from_mapping({**_raw(), "timestamp": "2026-06-01T14:00:00+02:00"})
    assert offset.timestamp == T0


def _raw() -> dict[str, object]:
    return {"transaction_id": "t", "timestamp": "2026-06-01T12:00:00Z", "customer_id": "c",
            "terminal_id": "m", "amount": 1.0}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("transaction_id", None, "required"),
        ("transaction_id", "  ", "required"),
        ("transaction_id", "a\nb", "printable"),
        ("customer_id", True, "required"),
        ("terminal_id", "x" * 129, "at most 128"),
        ("timestamp", "01/06/2026", "ISO 8601"),
        ("timestamp", None, "required"),
        ("timestamp", "2999-01-01T00:00:00Z", "in the future"),
        ("amount", -0.01, "negative"),
        ("amount", float("nan"), "finite"),
        ("amount", "inf", "finite"),
        ("amount", "12,5", "number"),
        ("amount", True, "number"),
    ],
)
def test_from_mapping_names_the_bad_field(field: str, value: object, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        Transaction.from_mapping({**_raw(), field: value})
    assert caught.value.field == field


@given(st.dictionaries(st.sampled_from(list(_raw())), st.none() | st.text() | st.floats()))
def test_from_mapping_accepts_or_names_a_field_never_crashes(data: dict[str, object]) -> None:
    try:
        got = Transaction.from_mapping(data)
    except ValidationError as exc:
        assert exc.field in _raw()
    else:
        assert got.amount >= 0 and got.timestamp.tzinfo is UTC


# -- FraudScorer ---------------------------------------------------------------------------


def test_score_matches_the_batch_model_and_records_once(store: StateStore) -> None:
    s = scorer(store)
    first = s.score(tx())
    assert not first.replayed and not first.degraded
    assert (first.model_name, first.model_version) == ("fraud", 3)
    features = OnlineFeatures(MemoryStore(), trained().model.config).features(tx())
    frame = pd.DataFrame([features])
    assert first.score == pytest.approx(float(trained().model.score(frame)[0]))
    assert first.action == trained().model.thresholds.decide([first.score])[0]
    again = s.score(tx())
    assert again.replayed and again.score == first.score and again.scored_at == first.scored_at
    # the retry counted nothing: a second transaction of the card sees one earlier event
    later = OnlineFeatures(store, trained().model.config).features(
        tx("t2", at=T0 + timedelta(minutes=5))
    )
    assert later["card_count_1d"] == 2.0


def test_a_history_of_fraud_raises_the_score_and_gives_reasons() -> None:
    store = MemoryStore()
    s = scorer(store)
    for i in range(30):
        s.score(tx(f"h{i}", card=f"c{i}", at=T0 - timedelta(days=12, minutes=i)))
        s.label(f"h{i}", True)
    fresh = scorer(MemoryStore()).score(tx("n"))
    risky = s.score(tx("r"), explain=True)
    assert risky.score > fresh.score
    assert risky.reasons and risky.reasons[0].contribution > 0
    assert any(r.feature.startswith("terminal_fraud_rate") for r in risky.reasons)


def test_reasons_come_with_alerts_and_with_allow_only_when_asked() -> None:
    model = trained().model
    s = scorer(MemoryStore())
    results = [s.score(tx(f"x{i}", card=f"c{i}", amount=10.0 * 4**i)) for i in range(6)]
    assert {r.action for r in results} >= {Action.ALLOW}
    assert all(r.reasons == () for r in results if r.action is Action.ALLOW)
    explained = s.score(tx("y", card="cy", amount=12.0), explain=True)
    features = OnlineFeatures(MemoryStore(), model.config).features(tx("y", card="cy", amount=12.0))
    assert explained.reasons == tuple(model.assess_row(features, 3)[1])
    assert explained.score == pytest.approx(model.assess_row(features, 3)[0])


def test_result_round_trips_through_json() -> None:
    result = scorer(MemoryStore()).score(tx())
    back = ScoreResult.from_json(result.to_json(), replayed=True)
    assert back == ScoreResult(**{**vars(result), "replayed": True})


def test_concurrent_retries_get_one_answer(store: StateStore) -> None:
    s = scorer(store)
    results: list[ScoreResult] = []
    threads = [threading.Thread(target=lambda: results.append(s.score(tx()))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.scored_at for r in results}) == 1
    assert sum(not r.replayed for r in results) <= 1


def test_too_late_transactions_are_refused_and_change_nothing(store: StateStore) -> None:
    s = scorer(store)
    s.score(tx("new", at=T0))
    with pytest.raises(ValidationError) as caught:
        s.score(tx("old", at=T0 - timedelta(days=2)))
    assert caught.value.field == "timestamp"
    assert store.remember("old", "probe") is None  # no answer was remembered


def test_unreachable_redis_degrades_fast_and_recovers(redis_client: redis.Redis) -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.05, socket_timeout=0.05)
    s = FraudScorer(trained().model, "fraud", 1, RedisStore(dead), retry_after=timedelta(0))
    result = s.score(tx())
    assert result.degraded and not result.replayed
    assert 0.0 <= result.score <= 1.0
    assert s.label("t1", True) is False
    # the breaker skips the store while open: no connection attempt at all
    tripped = FraudScorer(trained().model, "fraud", 1, RedisStore(dead))
    tripped.score(tx("a"))
    dead.connection_pool.disconnect()
    assert tripped.score(tx("b")).degraded


# -- FraudScorer.score_batch ---------------------------------------------------------------


def batch_of(n: int) -> list[Transaction]:
    """``n`` simulated transactions in time order, with repeats, a late one and a retry."""
    frame = history().iloc[2000 : 2000 + n, :5]
    txs = [Transaction(*row) for row in frame.itertuples(index=False)]
    late = Transaction("late", txs[5].timestamp - timedelta(days=3), txs[5].customer_id,
                       txs[5].terminal_id, 10.0)  # fmt: skip
    changed = Transaction(txs[3].transaction_id, txs[9].timestamp, "elsewhere", "m-x", 9999.0)
    return [*txs[:10], txs[2], late, changed, *txs[10:]]


def outcome(result: ScoreResult | ValidationError) -> tuple[object, ...]:
    if isinstance(result, ValidationError):
        return ("refused", result.field)
    reasons = tuple(r.feature for r in result.reasons)
    return (result.transaction_id, result.action, reasons, result.replayed, result.degraded)


def test_score_batch_equals_score_one_by_one(store: StateStore) -> None:
    txs = batch_of(200)
    batched = scorer(store).score_batch(txs[:120]) + scorer(store).score_batch(txs[120:])
    one_by_one = scorer(MemoryStore())
    expected: list[ScoreResult | ValidationError] = []
    for t in txs:
        try:
            expected.append(one_by_one.score(t))
        except ValidationError as exc:
            expected.append(exc)
    assert [outcome(r) for r in batched] == [outcome(r) for r in expected]
    scores = [r.score for r in batched if isinstance(r, ScoreResult)]
    assert scores == pytest.approx([r.score for r in expected if isinstance(r, ScoreResult)])
    assert [outcome(r)[0] for r in batched].count("refused") == 1
    assert [r.replayed for r in batched if isinstance(r, ScoreResult)].count(True) == 2
    assert {r.action for r in batched if isinstance(r, ScoreResult)} > {Action.ALLOW}
    # the batch remembered its answers: scoring it again replays every one
    again = scorer(store).score_batch(txs[:120])
    assert all(r.replayed for r in again if isinstance(r, ScoreResult))
    firsts = {r.transaction_id: r for r in batched if isinstance(r, ScoreResult) and not r.replayed}
    assert all(
        r.scored_at == firsts[r.transaction_id].scored_at
        for r in again
        if isinstance(r, ScoreResult)
    )


def test_score_batch_explains_every_answer_when_asked() -> None:
    txs = batch_of(40)
    explained = scorer(MemoryStore()).score_batch(txs, explain=True)
    plain = scorer(MemoryStore()).score_batch(txs)
    for e, p in zip(explained, plain, strict=True):
        if isinstance(e, ValidationError):
            assert isinstance(p, ValidationError)
            continue
        assert isinstance(p, ScoreResult)
        assert e.score == pytest.approx(p.score) and e.action is p.action
        assert e.reasons or e.replayed
        if p.action is not Action.ALLOW:
            assert e.reasons == p.reasons
        else:
            assert p.reasons == ()
    assert scorer(MemoryStore()).score_batch([]) == []


def test_score_batch_raises_instead_of_degrading_when_the_store_is_down() -> None:
    dead = redis.Redis(
        port=1, socket_connect_timeout=0.05, socket_timeout=0.05, retry=Retry(NoBackoff(), 0)
    )
    s = FraudScorer(trained().model, "fraud", 1, RedisStore(dead), retry_after=timedelta(0))
    with pytest.raises(StateUnavailable):
        s.score_batch(batch_of(20))
    assert s.score(tx()).degraded  # the one-by-one path still degrades


def test_state_store_is_memory_without_a_url_and_redis_with_one() -> None:
    assert isinstance(state_store(None), MemoryStore)
    store = state_store("redis://127.0.0.1:6379/0", prefix="finai:test:x:")
    assert isinstance(store, RedisStore) and store.prefix == "finai:test:x:"


def test_scores_follow_the_simulated_history() -> None:
    # replaying the first days of the simulation online gives the offline features' scores
    frame = history().head(300)
    s = scorer(MemoryStore())
    online = [s.score(Transaction(*row)) for row in frame.iloc[:, :5].itertuples(index=False)]
    offline = trained().model.score(trained().model.features(frame))
    assert [r.score for r in online] == pytest.approx(offline.tolist())
    assert {r.action for r in online} <= set(Action)
