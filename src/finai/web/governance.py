"""The Governance page: how a model uses its features, and its recorded fairness reports.

For a chosen credit or fraud model (the version in force, or ``NAME:VERSION``) the page
shows its global explanation (:func:`finai.governance.model_explanation`, from what the
model keeps: no applicant data is stored): feature importance (gain share and mean
|contribution|) for LightGBM models, the information value table with bins and points
for scorecards, and partial dependence curves of the top features. Below, the fairness
reports recorded in the audit chain for the model's versions (``model.fairness``), the
newest with a chart of its disparate impact ratios against the four-fifths line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from finai import credit, fraud, governance, registry
from finai.api.deps import PlatformDep, SessionDep
from finai.context import Platform
from finai.exceptions import ValidationError
from finai.registry import ModelVersion, Stage
from finai.web import charts
from finai.web.auth import ViewerDep
from finai.web.credit import ModelChoice
from finai.web.render import render
from finai.web.routing import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)

ModelRef = Annotated[str | None, Query(max_length=200)]
KINDS = {credit.KIND: "credit", fraud.KIND: "fraud"}
RECORDS = 20
FAIRNESS_HELP = (
    "finai governance fairness --model {ref} --data PATH --target COLUMN --protected COLUMN[:CUTS]"
)


@dataclass(frozen=True)
class GovernanceView:
    """What the page shows about one model version."""

    info: ModelVersion
    domain: str
    explanation: governance.Explanation | None
    explanation_note: str | None
    importance_figures: list[Markup] = field(default_factory=list)
    curve_figures: list[Markup] = field(default_factory=list)
    records: list[governance.RecordedFairness] = field(default_factory=list)
    impact_figure: Markup | None = None

    @property
    def ref(self) -> str:
        """``NAME:VERSION`` of this version."""
        return f"{self.info.name}:{self.info.version}"

    @property
    def figures(self) -> list[Markup]:
        """Every chart on the page."""
        shown = [*self.importance_figures, *self.curve_figures]
        return shown + ([self.impact_figure] if self.impact_figure is not None else [])

    @property
    def fairness_command(self) -> str:
        """The command that runs (and records) a fairness report of this version."""
        return FAIRNESS_HELP.format(ref=self.ref)


def governed_models(session: Session) -> list[ModelVersion]:
    """Return the version in force (champion, else newest) of every credit and fraud model."""
    found = []
    for summary in registry.list_models(session):
        version = registry.get_version(session, summary.name)
        if version.kind in KINDS:
            found.append(version)
    return found


def _label(version: ModelVersion) -> str:
    kind = KINDS[version.kind]
    if version.stage == Stage.CHAMPION:
        return f"{version.name} ({kind}, champion v{version.version})"
    return f"{version.name} ({kind}, v{version.version}, no champion)"


def _importance_figures(explanation: governance.Explanation) -> list[Markup]:
    if explanation.importance:
        names = [f.feature for f in explanation.importance]
        figures = [
            charts.importance_chart(
                names,
                [f.gain_share for f in explanation.importance],
                title="Feature importance · share of split gain",
                x_title="share of total gain",
            )
        ]
        mean_abs = [f.mean_abs_contribution for f in explanation.importance]
        if all(v is not None for v in mean_abs):
            ordered = sorted(
                explanation.importance, key=lambda f: -(f.mean_abs_contribution or 0.0)
            )
            figures.append(
                charts.importance_chart(
                    [f.feature for f in ordered],
                    [f.mean_abs_contribution or 0.0 for f in ordered],
                    title="Mean |contribution| (TreeSHAP)",
                    x_title="mean absolute log-odds",
                )
            )
        return figures
    values = explanation.information_values
    return [
        charts.importance_chart(
            [v.feature for v in values],
            [v.iv for v in values],
            title="Information value",
            x_title="information value",
        )
    ]


def governance_view(session: Session, platform: Platform, info: ModelVersion) -> GovernanceView:
    """Gather the page's explanation and fairness records of one model version.

    Parameters
    ----------
    session, platform
        The registry, the artifacts and the audit chain.
    info
        The version shown.

    Returns
    -------
    GovernanceView
        The explanation with its charts (or why there is none) and the recorded
        fairness reports of every version of the model, newest first.
    """
    ref = f"{info.name}:{info.version}"
    explanation: governance.Explanation | None = None
    note: str | None = None
    try:
        explanation = governance.model_explanation(session, platform.artifact_dir, ref)
    except ValidationError as exc:
        note = str(exc)
    versions = [v.version for v in registry.list_versions(session, info.name)]
    records = governance.recorded_fairness(session, info.name, versions, limit=RECORDS)
    newest = records[0] if records else None
    impact = (
        charts.impact_chart(newest)
        if newest is not None and any(a.ratio is not None for a in newest.attributes)
        else None
    )
    return GovernanceView(
        info=info,
        domain=KINDS[info.kind],
        explanation=explanation,
        explanation_note=note,
        importance_figures=_importance_figures(explanation) if explanation else [],
        curve_figures=[
            charts.partial_dependence_chart(c)
            for c in (explanation.partial_dependence if explanation else ())
            if c.grid
        ],
        records=records,
        impact_figure=impact,
    )


@router.get("/governance")
def governance_page(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    model: ModelRef = None,
) -> Response:
    """Show a model's global explanation and its recorded fairness reports.

    The model is ``NAME[:VERSION]`` from the query, else the first credit model, else
    the first fraud model.
    """
    models = governed_models(session)
    view = None
    ref = model or next((m.name for m in sorted(models, key=lambda m: KINDS[m.kind])), None)
    if ref:
        name, version = registry.parse_ref(ref)
        info = registry.get_version(session, name, version)
        if info.kind not in KINDS:
            raise ValidationError(
                f"model {name!r} is neither a credit nor a fraud model", field="model"
            )
        view = governance_view(session, platform, info)
    context = {
        "view": view,
        "choices": [
            ModelChoice(m.name, _label(m), view is not None and m.name == view.info.name)
            for m in models
        ],
        "uses_charts": view is not None and bool(view.figures),
    }
    return render(request, "governance.html", context, viewer=viewer)
