"""Drift checks of credit models over HTTP: the stored checks, and a check run now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from finai import governance, registry
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api

router = APIRouter(
    prefix="/v1/governance/drift", dependencies=[Depends(authorize_api)], tags=["governance"]
)

NAME_PATTERN = r"^[A-Za-z0-9][\w.-]*$"
REF_PATTERN = r"^[A-Za-z0-9][\w.-]*(:[1-9][0-9]{0,8})?$"
Band = Literal["stable", "watch", "act"]


class FeatureDriftPublic(BaseModel):
    """The PSI of one feature (CSI) and its band."""

    feature: str
    psi: float
    band: Band


class ScoreDriftPublic(BaseModel):
    """The PSI of the credit score and its band."""

    psi: float
    band: Band


class DriftCheckPublic(BaseModel):
    """A stored drift check: PSI of the score and of each feature (worst first)."""

    id: int
    checked_at: datetime
    model: str
    version: int
    rows: int
    score: ScoreDriftPublic
    features: list[FeatureDriftPublic]
    status: Band
    window_start: datetime | None
    window_end: datetime | None
    source: str
    actor: str

    @classmethod
    def from_domain(cls, check: governance.DriftCheck) -> DriftCheckPublic:
        """Build the public view of a stored check."""
        report = check.report
        return cls(
            id=check.id,
            checked_at=check.checked_at,
            model=report.model,
            version=report.version,
            rows=report.rows,
            score=ScoreDriftPublic(psi=report.score.psi, band=report.score.band),
            features=[
                FeatureDriftPublic(feature=f.feature, psi=f.psi, band=f.band)
                for f in report.features
            ],
            status=report.status,
            window_start=report.window_start,
            window_end=report.window_end,
            source=check.source,
            actor=check.actor,
        )


class DriftChecksPublic(BaseModel):
    """Stored drift checks, newest first."""

    data: list[DriftCheckPublic]
    count: int


class DriftCheckCreate(BaseModel):
    """A drift check to run now over the model's stored decisions."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        min_length=1,
        max_length=110,
        pattern=REF_PATTERN,
        description="NAME (the champion, else the newest version) or NAME:VERSION.",
    )
    days: int = Field(
        default=governance.DRIFT_DAYS,
        ge=1,
        le=governance.MAX_DRIFT_DAYS,
        description="The window: decisions of the last this many days.",
    )


@router.get("")
def list_drift_checks(
    session: SessionDep,
    model: Annotated[str, Query(min_length=1, max_length=100, pattern=NAME_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DriftChecksPublic:
    """List the stored drift checks of a model (every version), newest first."""
    registry.get_version(session, model)
    data = [
        DriftCheckPublic.from_domain(c) for c in governance.list_checks(session, model, limit=limit)
    ]
    return DriftChecksPublic(data=data, count=len(data))


@router.post("/checks", status_code=201)
def run_drift_check(
    body: DriftCheckCreate, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> DriftCheckPublic:
    """Check a credit model's drift over its decisions of the last `days` days, and store it.

    404 when the model made no decision in the window.
    """
    check = governance.check_model(
        session,
        platform.audit_key,
        platform.artifact_dir,
        model_ref=body.model,
        actor=key.id,
        days=body.days,
    )
    session.commit()
    return DriftCheckPublic.from_domain(check)
