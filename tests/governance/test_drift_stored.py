"""Drift over stored decisions, recorded checks and the schedule (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from finai import credit, governance, registry
from finai.context import Platform
from finai.credit.training import TrainResult
from finai.datasets import LoanBook
from finai.exceptions import NotFound, ValidationError
from finai.security import audit
from finai.store import CreditDecisionRow, DriftCheckRow, utcnow
from tests.conftest import MODEL
from tests.factories import promote


def decide(platform: Platform, frame: pd.DataFrame, ref: str = MODEL) -> list[credit.Decision]:
    with platform.sessions() as session:
        decisions = credit.decide_and_record(
            session, platform.audit_key, platform.artifact_dir, frame, model_ref=ref, actor="t"
        )
        session.commit()
    return decisions


def register(platform: Platform, name: str, model: object, kind: str = credit.KIND) -> None:
    with platform.sessions() as session:
        version = registry.register(
            session, platform.audit_key, platform.artifact_dir, name=name, model=model,
            kind=kind, actor="t",
        )  # fmt: skip
        if kind == credit.KIND:
            promote(session, platform, name=name, version=1)
        assert version.version == 1
        session.commit()


def test_bins_are_stored_with_each_decision(
    credit_platform: Platform, book: LoanBook, trained: TrainResult
) -> None:
    decisions = decide(credit_platform, book.frame.head(50))
    with credit_platform.sessions() as session:
        stored = credit.get_decision(session, decisions[3].id)
    assert stored.bins == decisions[3].bins
    assert stored.bins is not None and set(stored.bins) == set(trained.model.spec.features)


def test_stored_drift_matches_the_table(
    credit_platform: Platform, book: LoanBook, trained: TrainResult
) -> None:
    frame = book.frame.sample(400, random_state=1)
    frame["monthly_income"] = frame["monthly_income"] * 2
    decide(credit_platform, frame.head(150))
    with credit_platform.sessions() as session:
        for start in range(150, 400, 125):  # a batch goes through the table path too
            credit.decide_and_record(
                session, credit_platform.audit_key, credit_platform.artifact_dir,
                frame.iloc[start : start + 125], model_ref=MODEL, actor="t", batch_id=f"b{start}",
            )  # fmt: skip
        session.commit()
        now = utcnow()
        stored = governance.stored_drift(
            session, trained.model, name=MODEL, version=1,
            since=now - timedelta(days=1), until=now + timedelta(seconds=1),
        )  # fmt: skip
    table = governance.drift_report(trained.model, frame, name=MODEL, version=1)
    assert stored.rows == 400
    assert stored.score.psi == pytest.approx(table.score.psi, abs=1e-12)
    assert [(f.feature, f.band) for f in stored.features] == [
        (f.feature, f.band) for f in table.features
    ]
    for mine, theirs in zip(stored.features, table.features, strict=True):
        assert mine.psi == pytest.approx(theirs.psi, abs=1e-12)
    assert stored.features[0].feature == "monthly_income"
    assert stored.status == "act"
    assert stored.window_start is not None and stored.window_end is not None


def test_window_and_model_version_are_respected(
    credit_platform: Platform, book: LoanBook, trained: TrainResult
) -> None:
    decide(credit_platform, book.frame.head(20))
    with credit_platform.sessions() as session:
        now = utcnow()
        with pytest.raises(NotFound, match="no stored decision"):
            governance.stored_drift(
                session, trained.model, name=MODEL, version=1,
                since=now + timedelta(seconds=5), until=now + timedelta(days=1),
            )  # fmt: skip
        with pytest.raises(NotFound, match="no stored decision"):
            governance.stored_drift(
                session, trained.model, name=MODEL, version=2,
                since=now - timedelta(days=1), until=now + timedelta(days=1),
            )  # fmt: skip


def test_model_without_reference_stores_null_bins(
    credit_platform: Platform, book: LoanBook, trained: TrainResult
) -> None:
    register(credit_platform, "old-pd", dataclasses.replace(trained.model, reference=None))
    decide(credit_platform, book.frame.head(30), ref="old-pd")
    with credit_platform.sessions() as session:
        nulls = session.scalar(
            select(func.count())
            .select_from(CreditDecisionRow)
            .where(CreditDecisionRow.model_name == "old-pd", CreditDecisionRow.bins.is_(None))
        )
        assert nulls == 30
        check = governance.check_model(
            session, credit_platform.audit_key, credit_platform.artifact_dir,
            model_ref="old-pd", actor="t", days=1,
        )  # fmt: skip
        session.commit()
    assert check.report.rows == 30
    assert check.report.features == ()
    assert check.report.score.psi > 0


def test_check_is_recorded_and_audited(credit_platform: Platform, book: LoanBook) -> None:
    decide(credit_platform, book.frame.head(60))
    with credit_platform.sessions() as session:
        first = governance.check_model(
            session, credit_platform.audit_key, credit_platform.artifact_dir,
            model_ref=MODEL, actor="k1", days=7,
        )  # fmt: skip
        second = governance.check_model(
            session, credit_platform.audit_key, credit_platform.artifact_dir,
            model_ref=f"{MODEL}:1", actor="k2", current=book.frame.head(200),
        )  # fmt: skip
        session.commit()
    with credit_platform.sessions() as session:
        checks = governance.list_checks(session, MODEL)
        entries = audit.entries(session, action="model.drift_check")
        assert audit.verify(session, credit_platform.audit_key).ok
    assert [c.id for c in checks] == [second.id, first.id]
    assert (checks[1].source, checks[1].actor, checks[1].report.rows) == ("stored", "k1", 60)
    assert (checks[0].source, checks[0].report.window_start) == ("file", None)
    assert checks[1].report.window_end is not None and checks[1].report.window_start is not None
    assert checks[1].report.window_end - checks[1].report.window_start == timedelta(days=7)
    assert checks[1].report.score.psi == pytest.approx(first.report.score.psi)
    assert {f.feature: f.psi for f in checks[1].report.features} == pytest.approx(
        {f.feature: f.psi for f in first.report.features}
    )
    assert checks[1].report.status == first.report.status
    assert [e.object_id for e in entries] == [f"{MODEL}:1", f"{MODEL}:1"]
    assert entries[1].payload["check"] == first.id
    assert entries[1].payload["source"] == "stored"


def test_check_refusals(credit_platform: Platform, book: LoanBook) -> None:
    register(credit_platform, "fraudish", {"not": "credit"}, kind="fraud.model")
    key, folder = credit_platform.audit_key, credit_platform.artifact_dir
    with credit_platform.sessions() as session:
        with pytest.raises(ValidationError, match="not a credit model"):
            governance.check_model(session, key, folder, model_ref="fraudish", actor="t")
        with pytest.raises(NotFound):
            governance.check_model(session, key, folder, model_ref="nobody", actor="t")
        with pytest.raises(NotFound, match="no stored decision"):
            governance.check_model(session, key, folder, model_ref=MODEL, actor="t")
        with pytest.raises(ValidationError, match="days"):
            governance.check_model(session, key, folder, model_ref=MODEL, actor="t", days=0)
        with pytest.raises(ValidationError, match="missing feature columns"):
            governance.check_model(
                session, key, folder, model_ref=MODEL, actor="t",
                current=pd.DataFrame({"other": [1]}),
            )  # fmt: skip
        assert session.scalar(select(func.count()).select_from(DriftCheckRow)) == 0


def test_scheduled_checks_run_when_due(
    credit_platform: Platform, book: LoanBook, trained: TrainResult
) -> None:
    register(credit_platform, "quiet-pd", trained.model)  # a champion without decisions
    register(credit_platform, "fraudish", {"not": "credit"}, kind="fraud.model")
    decide(credit_platform, book.frame.head(40))
    every = timedelta(hours=24)
    args = (credit_platform.sessions, credit_platform.audit_key, credit_platform.artifact_dir)
    first = governance.scheduled_checks(*args, every=every, days=30)
    assert [(c.report.model, c.source, c.actor) for c in first] == [(MODEL, "scheduled", "system")]
    assert governance.scheduled_checks(*args, every=every, days=30) == []
    later = utcnow() + timedelta(hours=25)
    again = governance.scheduled_checks(*args, every=every, days=30, now=later)
    assert [c.report.model for c in again] == [MODEL]
    stop = threading.Event()
    stop.set()
    assert governance.scheduled_checks(*args, every=timedelta(0), stop=stop) == []


def test_schedule_thread_starts_and_stops(credit_platform: Platform, book: LoanBook) -> None:
    args = (credit_platform.sessions, credit_platform.audit_key, credit_platform.artifact_dir)
    off = governance.DriftSchedule(*args, every=timedelta(0))
    off.start()
    assert not off.enabled and off._thread is None
    off.close()
    decide(credit_platform, book.frame.head(10))
    soon = governance.DriftSchedule(*args, every=timedelta(hours=1), delay=0.01)
    soon.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with credit_platform.sessions() as session:
            if governance.list_checks(session, MODEL):
                break
        time.sleep(0.05)
    started = time.monotonic()
    soon.close()
    assert time.monotonic() - started < 5
    with credit_platform.sessions() as session:
        assert [c.source for c in governance.list_checks(session, MODEL)] == ["scheduled"]
