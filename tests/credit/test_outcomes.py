"""Loan outcomes by decision id: validated whole, newest report wins, one audit entry a batch."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from finai import credit
from finai.context import Platform
from finai.credit import OutcomeCounts, OutcomeReport
from finai.exceptions import NotFound, ValidationError
from finai.security import audit
from finai.store import CreditDecisionRow, CreditOutcomeRow

MODEL = "pd-watch"
DAY = timedelta(days=1)


def store_decisions(
    platform: Platform,
    pds: Sequence[float],
    *,
    at: datetime,
    model: str = MODEL,
    version: int = 1,
) -> list[str]:
    """Store one decision per PD, made at ``at``; return their ids."""
    ids = [secrets.token_hex(16) for _ in pds]
    with platform.sessions() as session:
        for decision_id, pd in zip(ids, pds, strict=True):
            session.add(
                CreditDecisionRow(
                    id=decision_id,
                    created_at=at,
                    actor="t",
                    model_name=model,
                    model_version=version,
                    policy_version=1,
                    input_hash="0" * 64,
                    outcome="approve",
                    pd=pd,
                    score=600.0,
                    currency="EUR",
                )
            )
        session.commit()
    return ids


def report(platform: Platform, items: Sequence[OutcomeReport], actor: str = "k1") -> OutcomeCounts:
    with platform.sessions() as session:
        counts = credit.record_outcomes(session, platform.audit_key, items, actor=actor)
        session.commit()
    return counts


def stored(platform: Platform) -> dict[str, tuple[bool, datetime, str]]:
    with platform.sessions() as session:
        rows = session.scalars(select(CreditOutcomeRow))
        return {r.decision_id: (r.defaulted, r.observed_at, r.actor) for r in rows}


def outcome_entries(platform: Platform) -> list[audit.AuditEntry]:
    with platform.sessions() as session:
        return [e for e in audit.entries(session, limit=1000) if e.action == "credit.outcomes"]


def outcome_count(platform: Platform) -> int:
    with platform.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(CreditOutcomeRow)) or 0)


@pytest.fixture
def decided(platform: Platform) -> list[str]:
    """Three decisions made ten days ago."""
    return store_decisions(platform, [0.1, 0.2, 0.3], at=datetime.now(UTC) - 10 * DAY)


def test_outcomes_are_stored_and_the_batch_audited_once(
    platform: Platform, decided: list[str]
) -> None:
    seen = datetime.now(UTC) - DAY
    items = [
        OutcomeReport(decided[0], True, seen),
        OutcomeReport(decided[1], False, seen),
        OutcomeReport(decided[2], False),
    ]
    before = datetime.now(UTC)
    counts = report(platform, items)
    assert counts == OutcomeCounts(recorded=3, updated=0, unchanged=0, stale=0)
    rows = stored(platform)
    assert rows[decided[0]] == (True, seen, "k1")
    assert rows[decided[1]] == (False, seen, "k1")
    # no observed_at means now
    assert before <= rows[decided[2]][1] <= datetime.now(UTC)
    [entry] = outcome_entries(platform)
    assert entry.object_type == "credit_outcomes"
    assert entry.actor == "k1"
    lines = sorted(f"{d}|{int(y)}|{t.astimezone(UTC).isoformat()}" for d, (y, t, _) in rows.items())
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    assert entry.payload["count"] == 3
    assert entry.payload["sha256"] == digest == entry.object_id
    assert entry.payload["recorded"] == 3
    with platform.sessions() as session:
        assert audit.verify(session, platform.audit_key).ok


def test_sending_a_batch_again_changes_nothing(platform: Platform, decided: list[str]) -> None:
    seen = datetime.now(UTC) - DAY
    items = [OutcomeReport(d, i == 0, seen) for i, d in enumerate(decided)]
    report(platform, items)
    first = stored(platform)
    again = report(platform, items, actor="k2")
    assert again == OutcomeCounts(recorded=0, updated=0, unchanged=3, stale=0)
    assert stored(platform) == first
    assert len(outcome_entries(platform)) == 2
    # the same verdict without a time keeps the first observation
    assert report(platform, [OutcomeReport(decided[0], True)]).unchanged == 1
    assert stored(platform)[decided[0]] == first[decided[0]]


def test_the_newest_report_wins_and_an_older_one_is_stale(
    platform: Platform, decided: list[str]
) -> None:
    now = datetime.now(UTC)
    report(platform, [OutcomeReport(decided[0], False, now - 5 * DAY)])
    # a default observed later replaces "performing"
    counts = report(platform, [OutcomeReport(decided[0], True, now - 2 * DAY)], actor="k2")
    assert counts == OutcomeCounts(recorded=0, updated=1, unchanged=0, stale=0)
    assert stored(platform)[decided[0]] == (True, now - 2 * DAY, "k2")
    # a late "performing" observed before the default changes nothing
    counts = report(platform, [OutcomeReport(decided[0], False, now - 4 * DAY)], actor="k3")
    assert counts == OutcomeCounts(recorded=0, updated=0, unchanged=0, stale=1)
    assert stored(platform)[decided[0]] == (True, now - 2 * DAY, "k2")
    # a correction observed at the same time wins
    counts = report(platform, [OutcomeReport(decided[0], False, now - 2 * DAY)], actor="k4")
    assert counts.updated == 1
    assert stored(platform)[decided[0]] == (False, now - 2 * DAY, "k4")


def test_unknown_decisions_are_named_and_nothing_is_written(
    platform: Platform, decided: list[str]
) -> None:
    missing = ["f" * 32, "e" * 32]
    items = [OutcomeReport(decided[0], True), *(OutcomeReport(m, True) for m in missing)]
    with pytest.raises(NotFound, match=f"2 unknown decision id\\(s\\): {'e' * 32}, {'f' * 32}"):
        report(platform, items)
    assert outcome_count(platform) == 0
    assert outcome_entries(platform) == []


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (lambda decided_at: decided_at - timedelta(seconds=1), "before the decision"),
        (lambda decided_at: datetime.now(UTC) + timedelta(hours=1), "in the future"),
        (lambda decided_at: decided_at.replace(tzinfo=None) + DAY, "no time zone"),
    ],
    ids=["before-decision", "future", "naive"],
)
def test_impossible_observation_times_are_refused(
    platform: Platform, decided: list[str], when: object, message: str
) -> None:
    with platform.sessions() as session:
        decided_at = session.get(CreditDecisionRow, decided[1]).created_at  # type: ignore[union-attr]
    fine = OutcomeReport(decided[0], True)
    bad = OutcomeReport(decided[1], True, when(decided_at))  # type: ignore[operator]
    with pytest.raises(ValidationError, match=message) as caught:
        report(platform, [fine, bad])
    assert caught.value.field == "observed_at"
    assert outcome_count(platform) == 0
    assert outcome_entries(platform) == []


def test_a_few_minutes_of_clock_skew_are_accepted(platform: Platform, decided: list[str]) -> None:
    ahead = datetime.now(UTC) + timedelta(minutes=2)
    assert report(platform, [OutcomeReport(decided[0], True, ahead)]).recorded == 1


def test_malformed_batches_are_refused(platform: Platform, decided: list[str]) -> None:
    cases: list[tuple[list[OutcomeReport], str, str]] = [
        ([], "no outcomes given", "outcomes"),
        (
            [OutcomeReport(decided[0], True), OutcomeReport(decided[0], False)],
            f"more than once in the batch: {decided[0]}",
            "decision_id",
        ),
        ([OutcomeReport("", True)], "1 to 32 characters", "decision_id"),
        ([OutcomeReport("x" * 33, True)], "1 to 32 characters", "decision_id"),
        ([OutcomeReport(decided[0], 1)], "true or false", "defaulted"),  # type: ignore[arg-type]
        (
            [OutcomeReport(f"{i:032x}", True) for i in range(credit.MAX_OUTCOMES + 1)],
            "at most 10,000 per batch",
            "outcomes",
        ),
    ]
    for items, message, field in cases:
        with pytest.raises(ValidationError, match=message) as caught:
            report(platform, items)
        assert caught.value.field == field
    assert outcome_count(platform) == 0
    assert outcome_entries(platform) == []


def test_a_full_batch_is_recorded(platform: Platform) -> None:
    ids = store_decisions(platform, [0.05] * 2_500, at=datetime.now(UTC) - 30 * DAY)
    counts = report(platform, [OutcomeReport(d, i % 10 == 0) for i, d in enumerate(ids)])
    assert counts.recorded == 2_500
    rows = stored(platform)
    assert sum(defaulted for defaulted, _, _ in rows.values()) == 250
