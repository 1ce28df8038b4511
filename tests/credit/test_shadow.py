"""Shadow scoring: a challenger answers beside the champion and never changes a decision."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from finai import credit, registry
from finai.context import Platform
from finai.credit import shadow
from finai.credit.training import TrainResult
from finai.datasets import LoanBook
from finai.store import CreditDecisionRow, CreditShadowRow
from tests.conftest import MODEL

DECISION_FIELDS = [
    c.name
    for c in CreditDecisionRow.__table__.columns
    if c.name not in {"id", "created_at", "batch_id"}
]


@pytest.fixture(scope="module")
def rival(book: LoanBook) -> TrainResult:
    """A different model of the same features: a scorecard on another sample."""
    sample = book.frame.sample(900, random_state=5)
    return credit.train(sample, book.spec, algorithm="scorecard", seed=7, folds=2)


@pytest.fixture
def challenged(credit_platform: Platform, rival: TrainResult, book: LoanBook) -> Platform:
    """``pd-test``: v1 champion, v2 (the rival) registered as a candidate."""
    with credit_platform.sessions() as session:
        credit.register_model(
            session,
            credit_platform.audit_key,
            credit_platform.artifact_dir,
            name=MODEL,
            result=rival,
            data=book.frame,
            actor="t",
        )
        session.commit()
    return credit_platform


def challenge(platform: Platform, version: int | None) -> None:
    with platform.sessions() as session:
        registry.challenge(session, platform.audit_key, name=MODEL, version=version, actor="t")
        session.commit()


def applicants(book: LoanBook, n: int = 40) -> pd.DataFrame:
    return book.frame.drop(columns=["default"]).iloc[100 : 100 + n].reset_index(drop=True)


def one(book: LoanBook) -> dict[str, Any]:
    row = applicants(book, 1).to_dict(orient="records")[0]
    return {k: (None if v != v else v) for k, v in row.items() if k != "applicant_id"}


def stored(platform: Platform, ids: list[str]) -> list[tuple[Any, ...]]:
    """The stored decisions' rows, in the order of ``ids``, without ids and times."""
    with platform.sessions() as session:
        rows = {
            r.id: r
            for r in session.scalars(select(CreditDecisionRow).where(CreditDecisionRow.id.in_(ids)))
        }
    return [tuple(getattr(rows[i], f) for f in DECISION_FIELDS) for i in ids]


def shadows(platform: Platform, ids: list[str]) -> dict[str, CreditShadowRow]:
    with platform.sessions() as session:
        found = session.scalars(select(CreditShadowRow).where(CreditShadowRow.decision_id.in_(ids)))
        return {r.decision_id: r for r in found}


def decide_all(
    platform: Platform, decider: credit.Decider, book: LoanBook, ref: str = MODEL
) -> tuple[list[credit.Decision], credit.Decision]:
    """One batch and one single-row decision, committed."""
    with platform.sessions() as session:
        batch = decider.decide_and_record(
            session,
            platform.audit_key,
            applicants(book),
            model_ref=ref,
            actor="t",
            batch_id="b" * 32,
            ref_column="applicant_id",
        )
        single = decider.decide_row_and_record(
            session, platform.audit_key, one(book), model_ref=ref, actor="t"
        )
        session.commit()
    return batch, single


def answers(decisions: list[credit.Decision]) -> list[tuple[Any, ...]]:
    return [
        (d.outcome, d.pd, d.score, d.limit, d.reasons, d.knockouts, d.input_hash, d.applicant_ref)
        for d in decisions
    ]


def test_shadow_scoring_never_changes_a_stored_decision(
    challenged: Platform, book: LoanBook
) -> None:
    decider = credit.Decider(challenged.artifact_dir, refresh=timedelta(0))
    plain_batch, plain_single = decide_all(challenged, decider, book)
    challenge(challenged, 2)
    shadow_batch, shadow_single = decide_all(challenged, decider, book)

    plain = [*plain_batch, plain_single]
    shadowed = [*shadow_batch, shadow_single]
    assert answers(shadowed) == answers(plain)  # the caller is told the same
    assert stored(challenged, [d.id for d in shadowed]) == stored(
        challenged, [d.id for d in plain]
    )  # byte for byte the same rows, ids and times apart
    assert shadows(challenged, [d.id for d in plain]) == {}
    found = shadows(challenged, [d.id for d in shadowed])
    assert set(found) == {d.id for d in shadowed}
    assert {(r.model_name, r.model_version) for r in found.values()} == {(MODEL, 2)}

    # the shadow answers are the challenger's own decisions of the same inputs and policy
    with challenged.sessions() as session:
        _info, rival = credit.load_model(session, challenged.artifact_dir, f"{MODEL}:2")
        policy = credit.current_policy(session).policy
    expected = credit.score_frame(applicants(book), rival, policy)
    for decision, (_, row) in zip(shadow_batch, expected.iterrows(), strict=True):
        answer = found[decision.id]
        assert (answer.outcome, answer.pd, answer.score) == (
            row["outcome"],
            row["pd"],
            row["score"],
        )
    assert sum(found[d.id].outcome != d.outcome for d in shadowed) > 0  # a real second opinion


def test_the_function_path_scores_in_shadow_too_but_not_for_a_named_version(
    challenged: Platform, book: LoanBook
) -> None:
    challenge(challenged, 2)
    with challenged.sessions() as session:
        champion = credit.decide_and_record(
            session, challenged.audit_key, challenged.artifact_dir, applicants(book, 5),
            model_ref=MODEL, actor="t",
        )  # fmt: skip
        named = credit.decide_and_record(
            session, challenged.audit_key, challenged.artifact_dir, applicants(book, 5),
            model_ref=f"{MODEL}:1", actor="t",
        )  # fmt: skip
        session.commit()
    assert set(shadows(challenged, [d.id for d in champion])) == {d.id for d in champion}
    assert shadows(challenged, [d.id for d in named]) == {}
    decider = credit.Decider(challenged.artifact_dir)
    batch, single = decide_all(challenged, decider, book, ref=f"{MODEL}:1")
    assert shadows(challenged, [d.id for d in [*batch, single]]) == {}


def test_a_challenger_that_fails_to_load_or_score_does_not_fail_the_decision(
    challenged: Platform,
    book: LoanBook,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    challenge(challenged, 2)
    failures: list[str] = []
    decider = credit.Decider(
        challenged.artifact_dir, refresh=timedelta(0), on_shadow_failure=failures.append
    )
    plain = credit.Decider(challenged.artifact_dir)
    with challenged.sessions() as session:
        rival = registry.get_version(session, MODEL, 2)
    artifact = challenged.artifact_dir / f"{rival.sha256}.bin"
    original = artifact.read_bytes()
    artifact.write_bytes(b"tampered")  # cannot load
    with caplog.at_level(logging.WARNING, logger="finai.credit.shadow"):
        batch, single = decide_all(challenged, decider, book)
    assert failures == [MODEL, MODEL]
    assert [r.error for r in caplog.records] == ["IntegrityError", "IntegrityError"]  # type: ignore[attr-defined]
    reference, reference_single = decide_all(challenged, plain, book, ref=f"{MODEL}:1")
    assert answers([*batch, single]) == answers([*reference, reference_single])
    assert shadows(challenged, [d.id for d in [*batch, single]]) == {}

    def broken(*_args: Any) -> Any:
        raise RuntimeError("scoring blew up")

    artifact.write_bytes(original)
    monkeypatch.setattr(shadow, "_columns", broken)  # loads, then cannot score
    with challenged.sessions() as session:
        decision = decider.decide_row_and_record(
            session, challenged.audit_key, one(book), model_ref=MODEL, actor="t"
        )
        session.commit()
    assert failures == [MODEL, MODEL, MODEL]
    assert stored(challenged, [decision.id]) == stored(challenged, [reference_single.id])


def test_the_challenger_is_looked_up_once_per_refresh(
    challenged: Platform, book: LoanBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    real = registry.challenger

    def counting(session: Any, name: str) -> registry.ModelVersion | None:
        lookups.append(name)
        return real(session, name)

    monkeypatch.setattr(shadow.registry, "challenger", counting)
    challenge(challenged, 2)
    slow = credit.Decider(challenged.artifact_dir, refresh=timedelta(hours=1))
    decide_all(challenged, slow, book)
    challenge(challenged, None)  # the challenge ends ...
    second, _ = decide_all(challenged, slow, book)
    assert lookups == [MODEL]  # ... but a decider that looked it up trusts its answer
    assert len(shadows(challenged, [d.id for d in second])) == len(second)
    quick = credit.Decider(challenged.artifact_dir, refresh=timedelta(0))
    third, _ = decide_all(challenged, quick, book)
    assert shadows(challenged, [d.id for d in third]) == {}
