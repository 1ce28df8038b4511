"""Model governance over HTTP: fairness reports and global explanations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from finai import governance
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api
from finai.api.schemas import NO_CONTROL, ModelRef

router = APIRouter(
    prefix="/v1/governance", dependencies=[Depends(authorize_api)], tags=["governance"]
)

MAX_ROWS = 20_000
"""Most rows one request may carry (a larger table: the CLI reads files)."""

MAX_PROTECTED = 8
"""Most protected attributes in one request."""

MAX_RESAMPLES = 2_000
"""Most bootstrap resamples one request may ask for (the request waits for them)."""

ModelName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.-]*$")]
Cell = str | int | float | bool | None
ColumnName = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROL)]


class LabelledTable(BaseModel):
    """A reference model, a labelled table and its protected columns, as the CLI reads them.

    ``rows`` is the table: one object per row, the model's features, the target and the
    protected columns; other columns are ignored.
    """

    model_config = ConfigDict(extra="forbid")

    model: ModelRef = Field(description="NAME (champion, else newest) or NAME:VERSION.")
    rows: list[dict[str, Cell]] = Field(min_length=1, max_length=MAX_ROWS)
    target: str = Field(
        min_length=1, max_length=200, pattern=NO_CONTROL, description="The outcome column."
    )
    bad: str | int | None = Field(
        default=None, description="Target value meaning bad (default: inferred, or the model's)."
    )
    protected: list[ColumnName] = Field(
        min_length=1,
        max_length=MAX_PROTECTED,
        description="COL, or COL:CUT[,CUT...] to band a numeric column at those cut points.",
    )


class FairnessCreate(LabelledTable):
    """A fairness report request; the fields mirror ``finai governance fairness``."""

    min_group: int = Field(default=governance.MIN_GROUP, ge=1, le=1_000_000)
    resamples: int = Field(default=500, ge=1, le=MAX_RESAMPLES)
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    confidence: float = Field(default=0.95, ge=0.5, le=0.999)


class FeatureImportancePublic(BaseModel):
    """A LightGBM feature's total split gain, its share and mean |contribution|."""

    feature: str
    gain: float
    gain_share: float
    mean_abs_contribution: float | None


class ScorecardBinPublic(BaseModel):
    """One bin of a scored characteristic."""

    bin: str
    count: int
    event_rate: float | None
    woe: float
    iv: float
    points: float


class InformationValuePublic(BaseModel):
    """A scorecard feature's information value and, when scored, its bins."""

    feature: str
    iv: float
    scored: bool
    bins: list[ScorecardBinPublic]


class PartialDependencePublic(BaseModel):
    """The average prediction with one feature set to each grid value."""

    feature: str
    categorical: bool
    grid: list[float | str]
    average: list[float]
    unit: str
    method: Literal["brute", "recursion", "points"]


class ExplanationPublic(BaseModel):
    """A model's global explanation, from what the model keeps (no applicant data)."""

    model: str | None
    kind: str
    algorithm: str
    sample: str
    sample_rows: int | None
    importance: list[FeatureImportancePublic]
    information_values: list[InformationValuePublic]
    partial_dependence: list[PartialDependencePublic]

    @classmethod
    def from_domain(cls, explanation: governance.Explanation) -> ExplanationPublic:
        """Build the public view of an explanation."""
        return cls.model_validate(explanation.to_dict())


@router.post("/fairness")
def create_fairness_report(
    body: FairnessCreate, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> dict[str, Any]:
    """Run a fairness report on the rows given, as `finai governance fairness --json` does.

    The answer is the same JSON object: per-group approval and error rates with
    bootstrap intervals, disparate impact per attribute (ratio, interval,
    `passes_four_fifths`) and the equal-opportunity difference. The rows are not stored;
    the report's summary (the table's fingerprint and the disparate impacts) is recorded
    in the audit chain as `model.fairness` on the model version.
    """
    frame = pd.DataFrame(body.rows)
    report = governance.model_fairness_report(
        session,
        platform.artifact_dir,
        frame,
        model_ref=body.model,
        target=body.target,
        protected=body.protected,
        bad=None if body.bad is None else str(body.bad),
        min_group=body.min_group,
        resamples=body.resamples,
        seed=body.seed,
        confidence=body.confidence,
    )
    governance.record_fairness(session, platform.audit_key, report, frame=frame, actor=key.id)
    session.commit()
    return report.to_dict()


@router.get("/explanations/{name}")
def read_explanation(
    name: ModelName,
    session: SessionDep,
    platform: PlatformDep,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 5,
    grid: Annotated[int, Query(ge=2, le=100)] = 20,
) -> ExplanationPublic:
    """Explain a model version (champion, else newest, without `version`).

    LightGBM models: gain and mean |contribution| per feature; scorecards: information
    value per feature with bins and points; and partial dependence of the `top`
    features. No applicant data is kept, so partial dependence comes from the model
    itself (tree recursion on the training counts, in raw log-odds; a scorecard's exact
    points) and fraud models give no mean contribution.
    """
    ref = name if version is None else f"{name}:{version}"
    explanation = governance.model_explanation(
        session, platform.artifact_dir, ref, top=top, grid=grid
    )
    return ExplanationPublic.from_domain(explanation)
