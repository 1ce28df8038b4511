from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from finai import credit, registry
from finai.context import Platform
from finai.credit import pipeline
from finai.credit.records import as_stored
from finai.credit.training import TrainResult
from finai.datasets import LoanBook
from finai.exceptions import NotFound, ValidationError
from finai.store import AuditEntryRow
from tests.conftest import MODEL
from tests.factories import promote


def _applicant(book: LoanBook) -> dict[str, Any]:
    row = book.frame.head(1).to_dict(orient="records")[0]
    return {k: (None if v != v else v) for k, v in row.items() if k != "applicant_id"}


def test_the_decider_keeps_models_and_parses_each_policy_version_once(
    credit_platform: Platform,
    trained: TrainResult,
    book: LoanBook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform = credit_platform
    reads: list[int] = []
    real_get_policy = pipeline.get_policy

    def counting(session: Any, version: int) -> credit.PolicyVersion:
        reads.append(version)
        return real_get_policy(session, version)

    monkeypatch.setattr(pipeline, "get_policy", counting)
    quick = credit.Decider(platform.artifact_dir, refresh=timedelta(0))
    slow = credit.Decider(platform.artifact_dir, refresh=timedelta(hours=1))
    with platform.sessions() as session:
        info, model = quick.model(session, MODEL)
        assert (info.name, info.version) == (MODEL, 1)
        assert quick.model(session, MODEL)[1] is model
        assert slow.model(session, MODEL)[0].version == 1
        first = quick.policy(session)
        assert quick.policy(session) is first
        assert first.version == 1
    assert reads == [1]
    stricter = credit.DEFAULT_POLICY.replace("approve_below: 0.08", "approve_below: 0.05")
    with platform.sessions() as session:
        credit.save_policy(session, platform.audit_key, text=stricter, actor="t")
        version = credit.register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=MODEL,
            result=trained,
            data=book.frame,
            actor="t",
        )
        promote(session, platform, name=MODEL, version=version.version, actor="t")
        session.commit()
    with platform.sessions() as session:
        policy = quick.policy(session)
        assert (policy.version, policy.policy.cutoffs.approve_below) == (2, 0.05)
        assert quick.policy(session) is policy
        assert quick.model(session, MODEL)[0].version == 2  # the promotion is seen
        assert slow.model(session, MODEL)[0].version == 1  # until its refresh is due
        assert slow.model(session, f"{MODEL}:2")[0].version == 2
    assert reads == [1, 2]


def test_the_decider_refuses_what_load_model_refuses(credit_platform: Platform) -> None:
    decider = credit.Decider(credit_platform.artifact_dir)
    with credit_platform.sessions() as session:
        registry.register(
            session,
            credit_platform.audit_key,
            credit_platform.artifact_dir,
            name="not-credit",
            model={"a": 1},
            kind="test.dict",
            actor="t",
        )
        session.commit()
        with pytest.raises(NotFound):
            decider.model(session, "nope")
        with pytest.raises(NotFound):
            decider.model(session, f"{MODEL}:9")
        with pytest.raises(ValidationError, match="not a credit model"):
            decider.model(session, "not-credit")


def test_no_policy_is_not_found(platform: Platform) -> None:
    with platform.sessions() as session, pytest.raises(NotFound, match="no lending policy"):
        credit.Decider(platform.artifact_dir).policy(session)


def test_one_row_is_decided_and_recorded_as_a_one_row_table(
    credit_platform: Platform, book: LoanBook
) -> None:
    platform = credit_platform
    decider = credit.Decider(platform.artifact_dir)
    applicant = _applicant(book)
    with platform.sessions() as session:
        decision = decider.decide_row_and_record(
            session,
            platform.audit_key,
            applicant,
            model_ref=MODEL,
            actor="t",
            applicant_ref="A-1",
        )
        (table,) = credit.decide_and_record(
            session,
            platform.audit_key,
            platform.artifact_dir,
            pd.DataFrame([{**applicant, "ref": "A-1"}]),
            model_ref=MODEL,
            actor="t",
            ref_column="ref",
        )
        session.commit()
    same = ("outcome", "pd", "score", "limit", "reasons", "knockouts", "input_hash")
    assert all(getattr(decision, f) == getattr(table, f) for f in same)
    assert (decision.applicant_ref, decision.model_version, decision.policy_version) == (
        "A-1",
        1,
        1,
    )
    with platform.sessions() as session:
        assert credit.get_decision(session, decision.id) == as_stored(decision)
        audited = session.scalars(
            select(AuditEntryRow.object_id).where(AuditEntryRow.action == "credit.decision")
        ).all()
    assert set(audited) == {decision.id, table.id}
