"""Loan outcomes in, realised performance by vintage out, over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field, StrictBool, StringConstraints

from finai import credit, governance, registry
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api
from finai.api.schemas import RECORD_ID, ModelRef, Strict

router = APIRouter(dependencies=[Depends(authorize_api)])

DecisionRef = Annotated[str, StringConstraints(pattern=RECORD_ID)]
Share = Annotated[float, Query(ge=0, le=1)]


class OutcomeCreate(Strict):
    """What became of one decided loan."""

    decision_id: DecisionRef
    defaulted: StrictBool = Field(description="true when the loan defaulted")
    observed_at: AwareDatetime | None = Field(
        default=None,
        description="when it was observed (with a time zone); not before the decision,"
        " not in the future; default now",
    )


class OutcomesCreate(Strict):
    """Up to 10,000 outcomes, each decision once; all are checked before any is stored."""

    outcomes: Annotated[list[OutcomeCreate], Field(min_length=1, max_length=credit.MAX_OUTCOMES)]


class OutcomesPublic(BaseModel):
    """What the outcomes did."""

    count: int = Field(description="outcomes received")
    recorded: int = Field(description="decisions that had no outcome and now have one")
    updated: int = Field(description="stored outcomes replaced by a newer, different report")
    unchanged: int = Field(description="reports that agree with the stored outcome")
    stale: int = Field(description="different reports observed before the stored one (ignored)")


class VintagePublic(BaseModel):
    """Decisions of one month (or ``all``) and how their loans turned out."""

    vintage: str
    decisions: int
    outcomes: int
    defaults: int
    coverage: float | None
    default_rate: float | None
    expected_rate: float | None
    calibration: float | None = Field(description="default_rate / expected_rate")
    interval: tuple[float, float] | None = Field(
        description="default rates consistent with expected_rate at the confidence asked"
    )
    auc: float | None
    ks: float | None
    too_small: bool = Field(description="fewer outcomes than min_outcomes: never alerts")


class AlertPublic(BaseModel):
    """A vintage that no longer performs as trained."""

    vintage: str
    metric: str = Field(description="auc, ks or default_rate")
    value: float
    reference: float = Field(description="training value, or the expected default rate")
    bound: float = Field(description="the limit crossed")
    message: str


class TrainingPublic(BaseModel):
    """What training recorded (out-of-fold)."""

    auc: float | None
    ks: float | None
    bad_rate: float | None


class MonitoringSettings(BaseModel):
    """The alert rules' settings."""

    min_outcomes: int
    auc_tolerance: float
    ks_tolerance: float
    confidence: float


class MonitoringPublic(BaseModel):
    """Realised performance of a credit model version by month of decision, with alerts."""

    model: str
    version: int
    stage: str
    training: TrainingPublic
    settings: MonitoringSettings
    vintages: list[VintagePublic]
    overall: VintagePublic
    alerts: list[AlertPublic]

    @classmethod
    def from_domain(cls, report: governance.VintageReport) -> MonitoringPublic:
        """Translate the domain value."""
        data: dict[str, Any] = report.to_dict()
        return cls.model_validate(data)


@router.post("/v1/credit/outcomes", tags=["credit"])
def record_outcomes(
    body: OutcomesCreate, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> OutcomesPublic:
    """Report whether decided loans defaulted (all or none stored, one audit entry).

    The newest report of a decision wins: a report that agrees with the stored outcome
    changes nothing, a different one replaces it when observed at the same time or
    later, and is counted `stale` and ignored when observed earlier. Unknown decision
    ids answer 404 and store nothing.
    """
    items = [credit.OutcomeReport(o.decision_id, o.defaulted, o.observed_at) for o in body.outcomes]
    counts = credit.record_outcomes(session, platform.audit_key, items, actor=key.id)
    session.commit()
    return OutcomesPublic(
        count=len(items),
        recorded=counts.recorded,
        updated=counts.updated,
        unchanged=counts.unchanged,
        stale=counts.stale,
    )


@router.get("/v1/governance/monitoring", tags=["governance"])
def monitoring_report(
    session: SessionDep,
    model: Annotated[ModelRef, Query(description="NAME (champion, else newest) or NAME:VERSION")],
    min_outcomes: Annotated[int, Query(ge=1, le=1_000_000)] = governance.MIN_OUTCOMES,
    auc_tolerance: Share = governance.AUC_TOLERANCE,
    ks_tolerance: Share = governance.KS_TOLERANCE,
    confidence: Annotated[float, Query(gt=0.5, lt=1)] = governance.ALERT_CONFIDENCE,
) -> MonitoringPublic:
    """Realised AUC, KS and default rate against expected, by month of decision, with alerts.

    Vintages with fewer than `min_outcomes` outcomes are reported as too small and
    never alert.
    """
    name, version = registry.parse_ref(model)
    report = governance.vintage_report(
        session,
        name,
        version,
        min_outcomes=min_outcomes,
        auc_tolerance=auc_tolerance,
        ks_tolerance=ks_tolerance,
        confidence=confidence,
    )
    return MonitoringPublic.from_domain(report)
