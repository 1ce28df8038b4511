"""Builders of stored test data, shared by the test modules."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from finai import registry
from finai.context import Platform


def register_versions(
    platform: Platform,
    metrics: Sequence[dict[str, float]],
    *,
    name: str = "pd-model",
    kind: str = "test.dict",
    actor: str = "t",
) -> None:
    """Register and commit one version of ``name`` per entry of ``metrics``, in order."""
    with platform.sessions() as session:
        for i, values in enumerate(metrics):
            registry.register(
                session,
                platform.audit_key,
                platform.artifact_dir,
                name=name,
                model={"i": i},
                kind=kind,
                actor=actor,
                metrics=values,
            )
        session.commit()


def key_id(token: str) -> str:
    """Return the id part of an API key ``finai_<id>_<secret>``."""
    return token.split("_")[1]


REVIEWER = "reviewer"


def approve(
    session: Session,
    platform: Platform,
    *,
    name: str,
    version: int,
    actor: str = REVIEWER,
    comment: str = "validated: metrics and fairness reviewed",
) -> registry.Approval:
    """Approve ``name:version`` as ``actor`` (not the registering key); the caller commits."""
    return registry.approve(
        session, platform.audit_key, name=name, version=version, actor=actor, comment=comment
    )


def promote(
    session: Session,
    platform: Platform,
    *,
    name: str,
    version: int,
    actor: str = "t",
    reviewer: str = REVIEWER,
) -> registry.ModelVersion:
    """Approve (once) as ``reviewer`` and promote ``name:version``; the caller commits."""
    if not any(a.approved_by == reviewer for a in registry.approvals(session, name, version)):
        approve(session, platform, name=name, version=version, actor=reviewer)
    return registry.promote(session, platform.audit_key, name=name, version=version, actor=actor)
