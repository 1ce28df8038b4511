"""Four-eyes promotion: approvals by another key than the one that registered a version."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from finai import registry
from finai.context import Platform
from finai.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from finai.registry import Stage
from finai.security import audit
from finai.store import AuditEntryRow, ModelApprovalRow
from tests.factories import approve, promote, register_versions

# register_versions registers as "t".
CREATOR = "t"


def _audit_count(platform: Platform) -> int:
    with platform.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntryRow)) or 0)


def test_one_key_cannot_both_register_and_approve(platform: Platform) -> None:
    register_versions(platform, [{"auc": 0.8}])
    before = _audit_count(platform)
    with platform.sessions() as session:
        with pytest.raises(PermissionDenied, match="four-eyes") as caught:
            approve(session, platform, name="pd-model", version=1, actor=CREATOR)
        assert caught.value.field == "actor"
        session.commit()
        assert registry.approvals(session, "pd-model", 1) == []
        assert session.scalars(select(ModelApprovalRow)).all() == []
        # ... so the key that registered it cannot get it promoted either
        with pytest.raises(Conflict, match="four-eyes"):
            registry.promote(session, platform.audit_key, name="pd-model", version=1, actor=CREATOR)
    assert _audit_count(platform) == before


def test_promote_without_approval_is_refused_and_changes_nothing(platform: Platform) -> None:
    register_versions(platform, [{}, {}])
    with platform.sessions() as session:
        promote(session, platform, name="pd-model", version=1)
        session.commit()
    before = _audit_count(platform)
    with platform.sessions() as session:
        with pytest.raises(Conflict, match="four-eyes rule: pd-model:2 needs an approval") as exc:
            registry.promote(session, platform.audit_key, name="pd-model", version=2, actor="x")
        assert exc.value.field == "version"
        session.commit()
        stages = {v.version: v.stage for v in registry.list_versions(session, "pd-model")}
        assert stages == {1: Stage.CHAMPION, 2: Stage.CANDIDATE}
        assert registry.stage_history(session, "pd-model", 2) == []
    assert _audit_count(platform) == before


def test_approve_and_promote_are_audited(platform: Platform) -> None:
    register_versions(platform, [{}])
    comment = "AUC and calibration checked on the holdout;\nfairness within four-fifths."
    with platform.sessions() as session:
        approval = approve(
            session, platform, name="pd-model", version=1, actor="reviewer", comment=comment
        )
        promoted = registry.promote(
            session, platform.audit_key, name="pd-model", version=1, actor="operator"
        )
        session.commit()
        assert promoted.stage is Stage.CHAMPION
        assert approval.approved_by == "reviewer"
        assert approval.comment == comment
        assert registry.approvals(session, "pd-model", 1) == [approval]
        entries = audit.entries(session, limit=2)
        promote_entry, approve_entry = entries
        assert (approve_entry.action, approve_entry.actor) == ("model.approve", "reviewer")
        assert approve_entry.object_id == "pd-model:1"
        assert approve_entry.payload == {
            "approval": approval.id,
            "comment_sha256": hashlib.sha256(comment.encode()).hexdigest(),
            "comment_length": len(comment),
        }
        assert (promote_entry.action, promote_entry.actor) == ("model.promote", "operator")
        assert promote_entry.payload == {
            "previous_champion": None,
            "approvals": [{"id": approval.id, "approved_by": "reviewer"}],
        }
        assert audit.verify(session, platform.audit_key).ok
        history = registry.stage_history(session, "pd-model", 1)
        assert [(h.from_stage, h.to_stage, h.actor) for h in history] == [
            (Stage.CANDIDATE, Stage.CHAMPION, "operator")
        ]


@pytest.mark.parametrize("comment", ["", "   \n\t ", "x" * 2001, "ok\x00", "bell\x07"])
def test_a_bad_comment_is_refused(platform: Platform, comment: str) -> None:
    register_versions(platform, [{}])
    with platform.sessions() as session:
        with pytest.raises(ValidationError) as caught:
            approve(session, platform, name="pd-model", version=1, comment=comment)
        assert caught.value.field == "comment"
        session.rollback()
        assert registry.approvals(session, "pd-model", 1) == []


def test_the_longest_comment_is_kept_without_surrounding_blanks(platform: Platform) -> None:
    register_versions(platform, [{}])
    with platform.sessions() as session:
        text = "y" * registry.MAX_COMMENT
        approval = approve(session, platform, name="pd-model", version=1, comment=f"  {text}\n")
        session.commit()
        assert approval.comment == text


def test_twice_by_one_reviewer_or_on_a_retired_version_is_a_conflict(platform: Platform) -> None:
    register_versions(platform, [{}, {}])
    with platform.sessions() as session:
        approve(session, platform, name="pd-model", version=1)
        with pytest.raises(Conflict, match="already") as caught:
            approve(session, platform, name="pd-model", version=1)
        assert caught.value.field == "actor"
        approve(session, platform, name="pd-model", version=1, actor="second-reviewer")
        registry.promote(session, platform.audit_key, name="pd-model", version=1, actor="a")
        promote(session, platform, name="pd-model", version=2)
        assert registry.get_version(session, "pd-model", 1).stage is Stage.RETIRED
        with pytest.raises(Conflict, match="retired"):
            approve(session, platform, name="pd-model", version=1, actor="third")
        with pytest.raises(NotFound):
            approve(session, platform, name="pd-model", version=9)
        with pytest.raises(NotFound):
            registry.approvals(session, "nope", 1)
        assert [a.approved_by for a in registry.approvals(session, "pd-model", 1)] == [
            "reviewer",
            "second-reviewer",
        ]


def test_rollback_and_repromotion_need_no_new_approval(platform: Platform) -> None:
    register_versions(platform, [{}, {}])
    with platform.sessions() as session:
        promote(session, platform, name="pd-model", version=1)
        promote(session, platform, name="pd-model", version=2)
        restored = registry.rollback(session, platform.audit_key, name="pd-model", actor="a")
        assert restored.version == 1
        again = registry.promote(session, platform.audit_key, name="pd-model", version=2, actor="a")
        assert again.stage is Stage.CHAMPION
        session.commit()
        assert len(registry.approvals(session, "pd-model", 2)) == 1
