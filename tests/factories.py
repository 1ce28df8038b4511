"""Builders of stored test data, shared by the test modules."""

from __future__ import annotations

from collections.abc import Sequence

from finai import registry
from finai.context import Platform


def register_versions(
    platform: Platform,
    metrics: Sequence[dict[str, float]],
    *,
    name: str = "pd-model",
    kind: str = "test.dict",
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
                actor="t",
                metrics=values,
            )
        session.commit()
