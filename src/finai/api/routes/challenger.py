"""Champion against challenger, and fairness-mitigated candidates, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query
from prometheus_client import Counter
from pydantic import BaseModel, Field

from finai import governance
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api
from finai.api.middleware import Metrics
from finai.api.routes.governance import LabelledTable

router = APIRouter(
    prefix="/v1/governance", dependencies=[Depends(authorize_api)], tags=["governance"]
)

ModelName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.-]*$")]


def shadow_failure_counter(metrics: Metrics) -> Callable[[str], None]:
    """Return a hook that counts a model's failed shadow answers in the app's metrics.

    The counter is ``finai_credit_shadow_failures_total{model=...}``: each decision call
    (one row or one batch) whose challenger could not be loaded or could not score.
    """
    counter = Counter(
        "finai_credit_shadow_failures_total",
        "Live credit decisions whose challenger could not answer in shadow, by model.",
        ["model"],
        registry=metrics.registry,
    )

    def count(name: str) -> None:
        counter.labels(name).inc()

    return count


class ComparisonPublic(BaseModel):
    """The champion's decisions against its challenger's shadow answers.

    ``table[i][j]`` counts decisions where the champion said ``outcomes[i]`` and the
    challenger ``outcomes[j]``; ``psi`` compares the challenger's scores with the
    champion's; the AUCs are on decisions with a reported outcome (none with too few).
    """

    name: str
    challenger_version: int | None
    champion_versions: list[int]
    count: int
    agreement: float | None
    outcomes: list[str]
    table: list[list[int]]
    psi: float | None
    champion_mean_pd: float | None
    challenger_mean_pd: float | None
    with_outcomes: int
    defaults: int
    champion_auc: float | None
    challenger_auc: float | None
    auc_note: str | None


@router.get("/challenger/{name}")
def read_comparison(
    name: ModelName,
    session: SessionDep,
    version: Annotated[
        int | None,
        Query(ge=1, le=2**31 - 1, description="Challenger version (default: the current one)."),
    ] = None,
) -> ComparisonPublic:
    """Compare a model's champion decisions with its challenger's shadow answers."""
    report = governance.comparison(session, name, version)
    return ComparisonPublic(**report.to_dict())


class MitigationCreate(LabelledTable):
    """A mitigation request; the fields mirror ``finai governance mitigate``.

    The protected columns are used only as the constraint's groups, never as inputs.
    """

    constraint: Literal["demographic_parity", "equalized_odds"] = "demographic_parity"
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="Register the candidate under this name (default: the model's).",
    )
    seed: int = Field(default=42, ge=0, le=2**32 - 1, description="Seed of the held-out split.")


class DisparityPublic(BaseModel):
    """Approval-rate difference and ratio, and equalised-odds difference, of one grouping."""

    approval_rate_difference: float | None
    approval_rate_ratio: float | None
    equalized_odds_difference: float | None


class TradeoffRowPublic(BaseModel):
    """One model on the held-out rows: AUC, approval rate and disparity per grouping."""

    model: str
    ref: str | None
    auc: float
    approval_rate: float
    disparity: dict[str, DisparityPublic]


class SplitPublic(BaseModel):
    """The held-out split the trade-off is measured on."""

    train_rows: int
    holdout_rows: int
    holdout_share: float
    stratified_by: str
    seed: int


class MitigationPublic(BaseModel):
    """The registered candidate and its trade-off table."""

    candidate: str
    reference: str
    constraint: str
    protected: list[str]
    constrained_on: str
    cutoff: float
    split: SplitPublic
    tradeoff: list[TradeoffRowPublic]


@router.post("/mitigations", status_code=201)
def create_mitigation(
    body: MitigationCreate, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> MitigationPublic:
    """Train a fairness-constrained candidate, register it, and return its trade-off table."""
    result = governance.mitigate(
        session,
        platform.audit_key,
        platform.artifact_dir,
        pd.DataFrame(body.rows),
        model_ref=body.model,
        target=body.target,
        protected=body.protected,
        constraint=body.constraint,
        bad=None if body.bad is None else str(body.bad),
        name=body.name,
        seed=body.seed,
        actor=key.id,
    )
    session.commit()
    return MitigationPublic.model_validate(result.to_dict())
