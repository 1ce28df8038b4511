"""Fraud records on real SQLite and PostgreSQL: scores, the alert queue, labels, audit."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from finai.context import Platform
from finai.exceptions import Conflict, NotFound, ValidationError
from finai.fraud import Action, Reason, normalise
from finai.fraud import records as fr
from finai.fraud.scoring import ScoreResult, Transaction
from finai.security import audit
from finai.store import FraudLabelRow

T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def tx(i: int, *, when: datetime = T0, amount: float = 10.5) -> Transaction:
    return Transaction(
        f"tx-{i:04d}", when + timedelta(seconds=i), f"card-{i % 3}", "term-1", amount
    )


def scored(
    t: Transaction,
    action: Action = Action.ALLOW,
    *,
    score: float = 0.1,
    at: datetime = T0,
    replayed: bool = False,
) -> tuple[Transaction, ScoreResult]:
    reasons = (
        Reason("amount_ratio_7d", 3.5, 0.8),
        Reason("terminal_fraud_rate_30d", math.nan, 0.2),
    )
    result = ScoreResult(
        t.transaction_id, score, action, reasons, "fraud-x", 2, False, at, replayed
    )
    return t, result


def save(
    platform: Platform, results: list[tuple[Transaction, ScoreResult]], **kw: Any
) -> list[fr.Alert]:
    with platform.sessions() as session:
        alerts = fr.save_scores(
            session, platform.audit_key, results, actor=kw.get("actor", "k1"), source="stream"
        )
        session.commit()
    return alerts


def actions(session: Session) -> list[str]:
    return [e.action for e in reversed(audit.entries(session, limit=1000))]


@contextmanager
def statements(platform: Platform) -> Iterator[list[str]]:
    """Collect the SQL the engine sends while the block runs."""
    seen: list[str] = []

    def collect(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    event.listen(platform.engine, "before_cursor_execute", collect)
    try:
        yield seen
    finally:
        event.remove(platform.engine, "before_cursor_execute", collect)


# -- scores -------------------------------------------------------------------------------


def test_scores_are_stored_and_review_and_block_open_alerts(platform: Platform) -> None:
    batch = [
        scored(tx(1)),
        scored(tx(2), Action.REVIEW, score=0.7),
        scored(tx(3, amount=99.0), Action.BLOCK, score=0.95),
    ]
    alerts = save(platform, batch)
    assert [(a.transaction_id, a.action, a.status) for a in alerts] == [
        ("tx-0002", Action.REVIEW, "open"),
        ("tx-0003", Action.BLOCK, "open"),
    ]
    with platform.sessions() as session:
        stored = fr.get_score(session, "tx-0003")
        assert stored.occurred_at == T0 + timedelta(seconds=3)
        assert stored.scored_at == T0
        assert (stored.amount, stored.score, stored.action) == (99.0, 0.95, Action.BLOCK)
        assert (stored.model_name, stored.model_version, stored.degraded) == ("fraud-x", 2, False)
        assert (stored.customer_id, stored.terminal_id) == ("card-0", "term-1")
        assert (stored.source, stored.actor) == ("stream", "k1")
        assert stored.reasons[0] == Reason("amount_ratio_7d", 3.5, 0.8)
        assert math.isnan(stored.reasons[1].value)  # JSON has no NaN: kept as null
        queued = fr.list_alerts(session, status="open")
        assert sorted(queued, key=lambda a: a.transaction_id) == alerts
        assert fr.count_alerts(session) == fr.count_alerts(session, status="open") == 2
        assert fr.count_alerts(session, status="resolved") == 0
        assert fr.alert_for(session, "tx-0003") == alerts[1]
        assert fr.alert_for(session, "tx-0001") is None  # allowed: no alert
        assert fr.get_alert(session, alerts[1].id) == alerts[1]
        [entry] = audit.entries(session, action="fraud.score.batch")
        assert (entry.actor, entry.payload["count"], entry.payload["alerts"]) == ("k1", 3, 2)
        assert entry.object_id == entry.payload["digest"]
        assert audit.verify(session, platform.audit_key).ok


def test_one_score_gets_its_own_audit_entry(platform: Platform) -> None:
    save(platform, [scored(tx(1), Action.REVIEW)])
    with platform.sessions() as session:
        [entry] = audit.entries(session)
        assert (entry.action, entry.object_type, entry.object_id) == (
            "fraud.score",
            "fraud_score",
            "tx-0001",
        )
        assert len(entry.payload["digest"]) == 64


def test_a_replay_stores_nothing_and_opens_no_second_alert(platform: Platform) -> None:
    first = save(platform, [scored(tx(1), Action.BLOCK, score=0.9)])
    again = [scored(tx(1), Action.REVIEW, score=0.5, replayed=True), scored(tx(1))]
    assert save(platform, again) == []
    with platform.sessions() as session:
        assert fr.get_score(session, "tx-0001").score == 0.9
        assert fr.list_alerts(session) == first
        assert actions(session) == ["fraud.score"]


def test_repeats_within_a_batch_keep_the_first_answer(platform: Platform) -> None:
    alerts = save(platform, [scored(tx(1), Action.REVIEW, score=0.6), scored(tx(1), score=0.1)])
    with platform.sessions() as session:
        assert fr.get_score(session, "tx-0001").score == 0.6
        assert [a.transaction_id for a in alerts] == ["tx-0001"]
        assert actions(session) == ["fraud.score"]


def test_a_batch_costs_one_lookup_and_one_insert_per_table(platform: Platform) -> None:
    save(platform, [scored(tx(i)) for i in range(0, 500, 2)])
    batch = [scored(tx(i), Action.REVIEW if i % 10 == 1 else Action.ALLOW) for i in range(500)]
    with statements(platform) as seen, platform.sessions() as session:
        alerts = fr.save_scores(session, platform.audit_key, batch, actor="k1", source="stream")
        session.commit()
    assert len(alerts) == 50
    score_sql = [s for s in seen if "fraud_scores" in s]
    assert len(score_sql) == 2
    assert score_sql[0].lstrip().upper().startswith("SELECT")
    assert score_sql[1].lstrip().upper().startswith("INSERT")
    assert len([s for s in seen if s.lstrip().upper().startswith("INSERT INTO FRAUD_ALERTS")]) == 1
    with platform.sessions() as session:
        assert len(fr.recent_scores(session)) == 500
        [entry] = audit.entries(session, action="fraud.score.batch", limit=1)
        assert (entry.payload["count"], entry.payload["alerts"]) == (250, 50)


def test_bad_score_input_is_refused_and_nothing_stored(platform: Platform) -> None:
    with platform.sessions() as session:
        with pytest.raises(ValidationError) as info:
            fr.save_scores(session, platform.audit_key, [scored(tx(1))], actor="k", source="x")
        assert info.value.field == "source"
        mismatched = [(tx(1), scored(tx(2))[1])]
        with pytest.raises(ValidationError) as info:
            fr.save_scores(session, platform.audit_key, mismatched, actor="k", source="api")
        assert info.value.field == "transaction_id"
        assert fr.recent_scores(session) == []
        with pytest.raises(NotFound) as missing:
            fr.get_score(session, "nope")
        assert missing.value.field == "transaction_id"


def test_recent_scores_are_newest_first_since_a_time(platform: Platform) -> None:
    save(platform, [scored(tx(i), at=T0 + timedelta(minutes=i)) for i in range(5)])
    with platform.sessions() as session:
        ids = [s.transaction_id for s in fr.recent_scores(session)]
        assert ids == ["tx-0004", "tx-0003", "tx-0002", "tx-0001", "tx-0000"]
        since = fr.recent_scores(session, since=T0 + timedelta(minutes=3))
        assert [s.transaction_id for s in since] == ["tx-0004", "tx-0003"]
        assert len(fr.recent_scores(session, limit=2)) == 2
        for bad in ({"limit": 0}, {"since": datetime(2026, 3, 1)}):
            with pytest.raises(ValidationError) as info:
                fr.recent_scores(session, **bad)  # type: ignore[arg-type]
            assert info.value.field == next(iter(bad))


# -- alerts -------------------------------------------------------------------------------


def test_assign_then_resolve_labels_the_transaction(platform: Platform) -> None:
    [alert] = save(platform, [scored(tx(1), Action.BLOCK, score=0.9)])
    with platform.sessions() as session:
        fr.get_alert(session, alert.id)  # loaded first: the views must show the update
        assigned = fr.assign_alert(
            session, platform.audit_key, alert.id, assignee="ana", actor="k2"
        )
        assert (assigned.status, assigned.assignee) == ("assigned", "ana")
        done = fr.resolve_alert(
            session,
            platform.audit_key,
            alert.id,
            resolution="fraud",
            actor="k2",
            note="card stolen",
        )
        session.commit()
    assert (done.status, done.resolution, done.resolved_by, done.note) == (
        "resolved",
        "fraud",
        "k2",
        "card stolen",
    )
    assert done.resolved_at is not None and done.resolved_at.tzinfo is not None
    with platform.sessions() as session:
        assert fr.get_alert(session, alert.id) == done
        labels = session.scalars(select(FraudLabelRow)).all()
        assert [(r.transaction_id, r.is_fraud, r.source, r.actor) for r in labels] == [
            ("tx-0001", True, "alert", "k2")
        ]
        assert actions(session)[-2:] == ["fraud.alert.assign", "fraud.alert.resolve"]
        assert fr.list_alerts(session, status="resolved") == [done]
        assert fr.list_alerts(session, status="open") == []


def test_a_resolved_alert_cannot_change(platform: Platform) -> None:
    [alert] = save(platform, [scored(tx(1), Action.REVIEW)])
    key = platform.audit_key
    with platform.sessions() as session:
        fr.resolve_alert(session, key, alert.id, resolution="legitimate", actor="k2")
        session.commit()
    with platform.sessions() as session:
        with pytest.raises(Conflict):
            fr.resolve_alert(session, key, alert.id, resolution="fraud", actor="k3")
        with pytest.raises(Conflict):
            fr.assign_alert(session, key, alert.id, assignee="bob", actor="k3")
        session.rollback()
        assert fr.get_alert(session, alert.id).resolution == "legitimate"
        assert len(session.scalars(select(FraudLabelRow)).all()) == 1


def test_a_stale_reader_cannot_resolve_twice(platform: Platform) -> None:
    [alert] = save(platform, [scored(tx(1), Action.REVIEW)])
    key = platform.audit_key
    with platform.sessions() as first, platform.sessions() as second:
        assert fr.get_alert(second, alert.id).status == "open"  # read before the other commits
        fr.resolve_alert(first, key, alert.id, resolution="fraud", actor="k2")
        first.commit()
        with pytest.raises(Conflict):
            fr.resolve_alert(second, key, alert.id, resolution="legitimate", actor="k3")
        second.rollback()
        assert len(second.scalars(select(FraudLabelRow)).all()) == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s, k, a: fr.resolve_alert(s, k, a, resolution="maybe", actor="k"), "resolution"),
        (
            lambda s, k, a: fr.resolve_alert(
                s, k, a, resolution="fraud", actor="k", note="x" * 2001
            ),
            "note",
        ),
        (lambda s, k, a: fr.assign_alert(s, k, a, assignee=" ", actor="k"), "assignee"),
        (lambda s, k, a: fr.list_alerts(s, status="closed"), "status"),
        (lambda s, k, a: fr.list_alerts(s, limit=0), "limit"),
        (lambda s, k, a: fr.list_alerts(s, offset=-1), "offset"),
        (lambda s, k, a: fr.alert_stats(s, days=0), "days"),
    ],
)
def test_bad_alert_input_names_its_field(platform: Platform, call: Any, field: str) -> None:
    [alert] = save(platform, [scored(tx(1), Action.REVIEW)])
    with platform.sessions() as session:
        with pytest.raises(ValidationError) as info:
            call(session, platform.audit_key, alert.id)
        assert info.value.field == field
        assert fr.get_alert(session, alert.id).status == "open"


def test_unknown_alerts_are_not_found(platform: Platform) -> None:
    key = platform.audit_key
    with platform.sessions() as session:
        for call in (
            lambda: fr.get_alert(session, "0" * 32),
            lambda: fr.assign_alert(session, key, "0" * 32, assignee="ana", actor="k"),
            lambda: fr.resolve_alert(session, key, "0" * 32, resolution="fraud", actor="k"),
        ):
            with pytest.raises(NotFound) as info:
                call()
            assert info.value.field == "alert_id"


def test_alerts_page_newest_first(platform: Platform) -> None:
    save(platform, [scored(tx(i), Action.REVIEW, at=T0 + timedelta(minutes=i)) for i in range(5)])
    with platform.sessions() as session:
        page = fr.list_alerts(session, limit=2, offset=1)
        assert [a.transaction_id for a in page] == ["tx-0003", "tx-0002"]


def test_alert_stats_count_per_utc_day(platform: Platform) -> None:
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    alerts = save(
        platform,
        [
            scored(tx(1), Action.REVIEW, at=yesterday),
            scored(tx(2), Action.BLOCK, at=yesterday),
            scored(tx(3), Action.REVIEW, at=now),
            scored(tx(4), Action.REVIEW, at=now - timedelta(days=40)),
        ],
    )
    key = platform.audit_key
    with platform.sessions() as session:
        fr.resolve_alert(session, key, alerts[0].id, resolution="fraud", actor="k")
        fr.resolve_alert(session, key, alerts[1].id, resolution="legitimate", actor="k")
        fr.resolve_alert(session, key, alerts[3].id, resolution="fraud", actor="k")
        session.commit()
        stats = fr.alert_stats(session, days=2)
        month = fr.alert_stats(session)
    today = datetime.now(UTC).date()
    assert stats == [
        fr.DayStats(today - timedelta(days=1), alerts=2, resolved=0, fraud=0, legitimate=0),
        fr.DayStats(today, alerts=1, resolved=3, fraud=2, legitimate=1),
    ]
    assert len(month) == 30 and month[-2:] == stats and sum(d.alerts for d in month) == 3


# -- labels -------------------------------------------------------------------------------


def test_labelled_transactions_is_the_canonical_training_frame(platform: Platform) -> None:
    save(platform, [scored(tx(i, when=T0 - timedelta(seconds=2 * i))) for i in range(4)])
    key = platform.audit_key
    with platform.sessions() as session:
        assert (
            fr.save_labels(session, key, [("tx-0001", True)], source="chargeback", actor="k") == 1
        )
        labels = [("tx-0001", False), ("tx-0002", True), ("elsewhere", True), ("tx-0002", False)]
        assert fr.save_labels(session, key, labels, source="analyst", actor="k") == 3
        session.commit()
        frame = fr.labelled_transactions(session)
        assert actions(session)[-2:] == ["fraud.label", "fraud.label.batch"]
    assert list(frame.columns) == [
        "transaction_id",
        "timestamp",
        "customer_id",
        "terminal_id",
        "amount",
        "is_fraud",
    ]
    assert [str(t) for t in frame.dtypes] == [
        "str",
        "datetime64[us, UTC]",
        "str",
        "str",
        "float64",
        "Int8",
    ]
    assert list(frame["transaction_id"]) == ["tx-0003", "tx-0002", "tx-0001", "tx-0000"]
    assert frame["timestamp"].iloc[-1] == pd.Timestamp(T0)
    assert frame["is_fraud"].tolist() == [pd.NA, 0, 0, pd.NA]
    pd.testing.assert_frame_equal(normalise(frame), frame)


def test_no_scores_give_an_empty_canonical_frame(platform: Platform) -> None:
    with platform.sessions() as session:
        frame = fr.labelled_transactions(session)
    assert len(frame) == 0
    assert [str(t) for t in frame.dtypes] == [
        "str",
        "datetime64[us, UTC]",
        "str",
        "str",
        "float64",
        "Int8",
    ]


def test_bad_labels_store_nothing(platform: Platform) -> None:
    key = platform.audit_key
    with platform.sessions() as session:
        assert fr.save_labels(session, key, [], source="analyst", actor="k") == 0
        for labels, source, field in [
            ([("tx-1", True)], "rumour", "source"),
            ([("", True)], "analyst", "transaction_id"),
            ([("x" * 129, True)], "analyst", "transaction_id"),
            ([("tx-1", 1)], "analyst", "is_fraud"),
        ]:
            with pytest.raises(ValidationError) as info:
                fr.save_labels(session, key, labels, source=source, actor="k")  # type: ignore[arg-type]
            assert info.value.field == field
        assert session.scalars(select(FraudLabelRow)).all() == []
        assert audit.count(session) == 0
