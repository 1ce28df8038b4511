"""The model registry over HTTP: versions, four-eyes approval, stages and model cards."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from finai import governance, registry
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api
from finai.api.schemas import (
    ApprovalCreate,
    ApprovalPublic,
    ChallengerPublic,
    ChallengerUpdate,
    ModelsPublic,
    ModelSummaryPublic,
    ModelVersionDetailPublic,
    ModelVersionPublic,
    ModelVersionsPublic,
)

router = APIRouter(prefix="/v1/models", dependencies=[Depends(authorize_api)], tags=["models"])

ModelName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.-]*$")]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
# A card page names nothing outside itself and runs nothing (nosniff: every /v1 answer).
CARD_HEADERS = {"Content-Security-Policy": "default-src 'none'"}


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
def get_version(name: ModelName, version: Version, session: SessionDep) -> ModelVersionDetailPublic:
    """Show one version with its lineage, metrics and approvals."""
    info = registry.get_version(session, name, version)
    return ModelVersionDetailPublic.of(info, registry.approvals(session, name, version))


@router.get(
    "/{name}/versions/{version}/card",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
def get_card(
    name: ModelName,
    version: Version,
    session: SessionDep,
    form: Annotated[Literal["markdown", "html"], Query(alias="format")] = "markdown",
) -> Response:
    """Return the version's model card: Markdown, or with ``?format=html`` an HTML page.

    The ``X-Card-SHA256`` header is the sha256 of the card's Markdown.
    """
    card = governance.model_card(session, name, version)
    headers = {**CARD_HEADERS, "X-Card-SHA256": card.sha256}
    if form == "html":
        return Response(card.document(), media_type="text/html; charset=utf-8", headers=headers)
    return Response(card.markdown, media_type="text/markdown; charset=utf-8", headers=headers)


@router.post("/{name}/versions/{version}/approve", status_code=201)
def approve(
    name: ModelName,
    version: Version,
    body: ApprovalCreate,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
) -> ApprovalPublic:
    """Approve a version (four eyes: not with the key that registered it), with a comment."""
    approval = registry.approve(
        session, platform.audit_key, name=name, version=version, actor=key.id, comment=body.comment
    )
    governance.write_cards(session, name=name, actor=key.id, versions=[version])
    session.commit()
    return ApprovalPublic.from_domain(approval)


@router.post("/{name}/versions/{version}/promote")
def promote(
    name: ModelName, version: Version, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> ModelVersionPublic:
    """Make an approved version the champion; the previous champion is retired."""
    promoted = registry.promote(
        session, platform.audit_key, name=name, version=version, actor=key.id
    )
    governance.write_cards(session, name=name, actor=key.id, versions=[version])
    session.commit()
    return ModelVersionPublic.from_domain(promoted)


@router.post("/{name}/challenger")
def set_challenger(
    name: ModelName,
    body: ChallengerUpdate,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
) -> ChallengerPublic:
    """Make a candidate the challenger (scored in shadow), or end the challenge with ``null``."""
    result = registry.challenge(
        session, platform.audit_key, name=name, version=body.version, actor=key.id
    )
    governance.write_cards(
        session, name=name, actor=key.id, versions=[] if body.version is None else [body.version]
    )
    session.commit()
    return ChallengerPublic(
        name=name, challenger=None if result is None else ModelVersionPublic.from_domain(result)
    )


@router.post("/{name}/rollback")
def rollback(
    name: ModelName, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> ModelVersionPublic:
    """Retire the champion and reinstate the one before it."""
    restored = registry.rollback(session, platform.audit_key, name=name, actor=key.id)
    governance.write_cards(session, name=name, actor=key.id, versions=[restored.version])
    session.commit()
    return ModelVersionPublic.from_domain(restored)
