"""The model registry over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from finai import registry
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api
from finai.api.schemas import (
    ModelsPublic,
    ModelSummaryPublic,
    ModelVersionPublic,
    ModelVersionsPublic,
)

router = APIRouter(prefix="/v1/models", dependencies=[Depends(authorize_api)], tags=["models"])

ModelName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.-]*$")]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def list_models(session: SessionDep) -> ModelsPublic:
    """List every registered model with its newest and champion versions."""
    data = [ModelSummaryPublic.from_domain(m) for m in registry.list_models(session)]
    return ModelsPublic(data=data, count=len(data))


@router.get("/{name}")
def list_versions(name: ModelName, session: SessionDep) -> ModelVersionsPublic:
    """List a model's versions, newest first."""
    data = [ModelVersionPublic.from_domain(v) for v in registry.list_versions(session, name)]
    return ModelVersionsPublic(data=data, count=len(data))


@router.get("/{name}/versions/{version}")
def get_version(name: ModelName, version: Version, session: SessionDep) -> ModelVersionPublic:
    """Show one version with its lineage and metrics."""
    return ModelVersionPublic.from_domain(registry.get_version(session, name, version))


@router.post("/{name}/versions/{version}/promote")
def promote(
    name: ModelName, version: Version, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> ModelVersionPublic:
    """Make a version the champion; the previous champion is retired."""
    promoted = registry.promote(
        session, platform.audit_key, name=name, version=version, actor=key.id
    )
    session.commit()
    return ModelVersionPublic.from_domain(promoted)


@router.post("/{name}/rollback")
def rollback(
    name: ModelName, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> ModelVersionPublic:
    """Retire the champion and reinstate the one before it."""
    restored = registry.rollback(session, platform.audit_key, name=name, actor=key.id)
    session.commit()
    return ModelVersionPublic.from_domain(restored)
