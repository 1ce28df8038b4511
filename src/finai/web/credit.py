"""The credit pages: a model and its validation, the policy, decisions, and deciding one.

The credit page shows the model in force and how it validated, the lending policy,
the newest decisions and, to admins and operators, a form that decides one applicant.
The validation curves (ROC, KS, calibration) use the out-of-fold PDs and labels a model
keeps from cross-validation; the score distribution uses its reference scores (a sample
of the training rows). No new labelled data is needed to draw them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from finai import credit, governance, registry
from finai.api.deps import PlatformDep, SessionDep
from finai.api.errors import status_for
from finai.api.schemas import RECORD_ID
from finai.context import Platform
from finai.credit import ks_curve, roc_points, score_distribution
from finai.demo import DEMO_MODEL
from finai.exceptions import FinAIError, NotFound, ValidationError
from finai.registry import ModelVersion, Stage
from finai.web import charts
from finai.web.auth import Viewer, ViewerDep
from finai.web.render import redirect, render
from finai.web.routing import WebRoute
from finai.web.session import Flash

router = APIRouter(route_class=WebRoute, include_in_schema=False)

DecisionId = Annotated[str, Path(pattern=RECORD_ID)]
ModelRef = Annotated[str | None, Query(max_length=200)]
DECIDE = ("POST", "/credit/decide")
RECENT = 20
FIELD_PREFIX = "f:"
MAX_VALUE_CHARS = 200
NO_CURVES = "curves need labelled data: run `finai credit evaluate`"
UNITS = {"scorecard": "points lost", "gbm": "log-odds of bad added"}
WHOLE = re.compile(r"[+-]?\d{1,15}")
COMPARISONS = frozenset({"<", "<=", ">", ">="})
YES_NO = ("yes", "no")

FieldKind = Literal["number", "text", "choice"]


@dataclass(frozen=True)
class ModelChoice:
    """One model in a page's model picker (Credit, Governance, Monitoring)."""

    name: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Metric:
    """One cross-validated metric as a stat card shows it."""

    label: str
    value: str
    hint: str


@dataclass(frozen=True)
class Candidate:
    """One algorithm tried in cross-validation and how it did."""

    algorithm: str
    chosen: bool
    auc: float | None
    gini: float | None
    ks: float | None
    brier: float | None
    log_loss: float | None
    calibration_gap: float | None
    auc_fold_std: float | None
    fit_seconds: float | None


@dataclass(frozen=True)
class ScorecardRow:
    """One bin of one characteristic of a scorecard."""

    characteristic: str
    bin: str
    count: int
    event_rate: float | None
    woe: float
    iv: float
    points: float
    first: bool


@dataclass(frozen=True)
class ImportanceRow:
    """One feature of a gradient-boosting model and how much it matters."""

    feature: str
    gain: float
    gain_share: float
    mean_abs_contribution: float


@dataclass(frozen=True)
class InputField:
    """One input of the decide form.

    Attributes
    ----------
    name
        The column the value goes to.
    kind
        ``number``, ``text`` (with ``choices`` as suggestions) or ``choice`` (a select).
    choices
        Values seen in training, or the values a policy rule names.
    source
        ``model`` for the model's features, ``policy`` for fields only the policy reads.
    """

    name: str
    kind: FieldKind
    choices: tuple[str, ...]
    source: Literal["model", "policy"]

    @property
    def label(self) -> str:
        """The name in words: ``monthly_income`` reads ``Monthly income``."""
        words = self.name.replace("_", " ").strip()
        return words[:1].upper() + words[1:] if words else self.name

    @property
    def form_name(self) -> str:
        """The form field's name (prefixed, so no feature can clash with ``csrf_token``)."""
        return FIELD_PREFIX + self.name


@dataclass(frozen=True)
class ModelView:
    """Everything the page shows about one credit model version."""

    info: ModelVersion
    algorithm: str
    chosen_because: str
    folds: int | None
    metrics: list[Metric]
    candidates: list[Candidate]
    scorecard: list[ScorecardRow] | None
    importance: list[ImportanceRow] | None
    figures: list[Markup]
    curves_note: str | None

    @property
    def ref(self) -> str:
        """``NAME:VERSION`` of this version."""
        return f"{self.info.name}:{self.info.version}"


def decision_url(decision_id: str) -> str:
    """Return the address of a decision's page."""
    return f"/credit/decisions/{decision_id}"


def credit_models(session: Session) -> list[ModelVersion]:
    """Return the version in force (champion, else newest) of every credit model, by name."""
    found = []
    for summary in registry.list_models(session):
        version = registry.get_version(session, summary.name)
        if version.kind == credit.KIND:
            found.append(version)
    return found


def default_ref(models: list[ModelVersion]) -> str | None:
    """Return the model shown when none is asked for: the demo model, else the first."""
    if not models:
        return None
    chosen = next((m for m in models if m.name == DEMO_MODEL), models[0])
    return chosen.name


def _choice_label(version: ModelVersion) -> str:
    if version.stage == Stage.CHAMPION:
        return f"{version.name} (champion v{version.version})"
    return f"{version.name} (v{version.version}, no champion)"


def _number(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _metrics(info: ModelVersion) -> list[Metric]:
    shown = (
        ("AUC", "auc", "{:.3f}", "ranking: 0.5 is chance, 1 perfect"),
        ("Gini", "gini", "{:.3f}", "2 * AUC - 1"),
        ("KS", "ks", "{:.3f}", "largest gap between bad and good"),
        ("Brier", "brier", "{:.4f}", "mean squared PD error; lower is better"),
        ("Bad rate", "bad_rate", "{:.1%}", "share of bad loans in training"),
        ("Rows", "n", "{:,.0f}", "loans cross-validated"),
    )
    result = []
    for label, key, fmt, hint in shown:
        value = _number(info.metrics, key)
        result.append(Metric(label, "-" if value is None else fmt.format(value), hint))
    return result


def _candidates(info: ModelVersion, algorithm: str) -> list[Candidate]:
    rows = info.params.get("cv")
    if not isinstance(rows, list):
        return []
    return [
        Candidate(
            algorithm=str(row.get("algorithm", "?")),
            chosen=row.get("algorithm") == algorithm,
            auc=_number(row, "auc"),
            gini=_number(row, "gini"),
            ks=_number(row, "ks"),
            brier=_number(row, "brier"),
            log_loss=_number(row, "log_loss"),
            calibration_gap=_number(row, "calibration_gap"),
            auc_fold_std=_number(row, "auc_fold_std"),
            fit_seconds=_number(row, "fit_seconds"),
        )
        for row in rows
        if isinstance(row, dict)
    ]


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float | np.number) else math.nan


def _scorecard(estimator: credit.ScorecardModel) -> list[ScorecardRow]:
    records = estimator.table().to_dict(orient="records")
    rows, previous = [], None
    for row in records:
        name = str(row["characteristic"])
        rate = _float(row["event_rate"])
        rows.append(
            ScorecardRow(
                characteristic=name,
                bin=str(row["bin"]),
                count=int(_float(row["count"])),
                event_rate=rate if math.isfinite(rate) else None,
                woe=_float(row["woe"]),
                iv=_float(row["iv"]),
                points=_float(row["points"]),
                first=name != previous,
            )
        )
        previous = name
    return rows


def _importance(estimator: credit.GBMModel) -> list[ImportanceRow]:
    table = estimator.feature_importance()
    records = table.reset_index().to_dict(orient="records")
    return [
        ImportanceRow(
            feature=str(row["feature"]),
            gain=_float(row["gain"]),
            gain_share=_float(row["gain_share"]),
            mean_abs_contribution=_float(row["mean_abs_contribution"]),
        )
        for row in records
    ]


def _figures(model: credit.CreditModel, auc: float | None) -> tuple[list[Markup], str | None]:
    figures: list[Markup] = []
    note = None
    if model.oof_pd is not None and model.oof_y is not None:
        try:
            roc = roc_points(model.oof_y, model.oof_pd)
            measured = credit.evaluate(model.oof_y, model.oof_pd)
            figures += [
                charts.roc_chart(roc, measured.auc if auc is None else auc),
                charts.ks_chart(ks_curve(model.oof_y, model.oof_pd)),
                charts.calibration_chart(measured.calibration),
            ]
        except ValidationError as exc:
            note = f"curves unavailable: {exc}"
    else:
        note = NO_CURVES
    scores = np.asarray(model.reference_scores, dtype=float)
    scores = scores[np.isfinite(scores)]
    if len(scores):
        title = f"Score distribution · {len(scores):,} training rows"
        figures.append(charts.score_chart(score_distribution(scores, bins=24), title))
    return figures, note


def model_view(info: ModelVersion, model: credit.CreditModel) -> ModelView:
    """Gather what the page shows about a loaded credit model.

    Parameters
    ----------
    info
        The registered version (metrics and parameters from cross-validation).
    model
        The loaded model.

    Returns
    -------
    ModelView
        Metrics, candidates, the scorecard or feature importance, and the figures.
    """
    algorithm = str(info.params.get("algorithm", model.algorithm))
    folds = info.params.get("folds")
    estimator = model.estimator
    figures, note = _figures(model, _number(info.metrics, "auc"))
    return ModelView(
        info=info,
        algorithm=algorithm,
        chosen_because=str(info.params.get("chosen_because", "")),
        folds=folds if isinstance(folds, int) else None,
        metrics=_metrics(info),
        candidates=_candidates(info, algorithm),
        scorecard=_scorecard(estimator) if isinstance(estimator, credit.ScorecardModel) else None,
        importance=_importance(estimator) if isinstance(estimator, credit.GBMModel) else None,
        figures=figures,
        curves_note=note,
    )


def seen_categories(model: credit.CreditModel) -> dict[str, tuple[str, ...]]:
    """Return the categories each categorical feature had in training, where the model kept them.

    A gradient-boosting model keeps all of them; a scorecard only those of the
    characteristics it scores.
    """
    estimator = model.estimator
    if isinstance(estimator, credit.GBMModel):
        kept: dict[str, list[str]] = getattr(estimator, "categories_", {})
        return {name: tuple(sorted(map(str, values))) for name, values in kept.items()}
    if isinstance(estimator, credit.ScorecardModel):
        return {
            c.name: tuple(sorted(c.categories))
            for c in getattr(estimator, "characteristics_", [])
            if c.categorical
        }
    return {}


def input_fields(model: credit.CreditModel, policy: credit.Policy | None) -> list[InputField]:
    """Return the decide form's inputs: the model's features, then fields only the policy reads.

    Parameters
    ----------
    model
        The model whose spec names the features (numeric, then categorical).
    policy
        The policy in force, whose knock-out rules and limits may read other fields
        (e.g. ``declared_bankruptcy``); None when no policy is stored.

    Returns
    -------
    list[InputField]
        One input per field, in model order.
    """
    categories = seen_categories(model)
    fields = [InputField(name, "number", (), "model") for name in model.spec.numeric or ()]
    fields += [
        InputField(name, "text", categories.get(name, ()), "model")
        for name in model.spec.categorical or ()
    ]
    if policy is None:
        return fields
    known = {f.name for f in fields}
    for rule in policy.knockouts:
        if rule.field in known:
            continue
        known.add(rule.field)
        if rule.op in COMPARISONS:
            fields.append(InputField(rule.field, "number", (), "policy"))
        elif rule.op == "true":
            fields.append(InputField(rule.field, "choice", YES_NO, "policy"))
        else:
            named = rule.value if isinstance(rule.value, list) else [rule.value]
            choices = tuple(str(v) for v in named if v is not None)
            fields.append(InputField(rule.field, "text", choices, "policy"))
    for name in (policy.limits.income_field, policy.limits.debt_field):
        if name and name not in known:
            known.add(name)
            fields.append(InputField(name, "number", (), "policy"))
    return fields


def _parse(field: InputField, text: str) -> object:
    if len(text) > MAX_VALUE_CHARS:
        raise ValidationError(
            f"{field.name} is longer than {MAX_VALUE_CHARS} characters", field=field.name
        )
    if not text:
        return None
    if field.kind == "choice" and text not in field.choices:
        raise ValidationError(
            f"{field.name} must be one of {', '.join(field.choices)}", field=field.name
        )
    if field.kind != "number":
        return text
    if WHOLE.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        raise ValidationError(f"{field.name} must be a number", field=field.name) from None
    if not math.isfinite(number):
        raise ValidationError(f"{field.name} must be a finite number", field=field.name)
    return number


def applicant_frame(fields: list[InputField], values: dict[str, str]) -> pd.DataFrame:
    """Turn the form's text into one applicant row; an empty input means missing.

    Numbers become ``int`` or ``float`` as JSON would give them to the API, and an empty
    field only the policy reads is left out, so the same applicant gets the same input
    hash from either face.

    Parameters
    ----------
    fields
        The form's inputs.
    values
        Entered text per field name (stripped).

    Returns
    -------
    pandas.DataFrame
        One row: a column per model feature, and per policy field that was given.

    Raises
    ------
    ValidationError
        Naming the first field that is not a number where one is needed, not one of a
        select's choices, or too long.
    """
    row: dict[str, object] = {}
    for f in fields:
        value = _parse(f, values.get(f.name, ""))
        if value is not None or f.source == "model":
            row[f.name] = value
    return pd.DataFrame([row])


def _policy_or_none(session: Session) -> credit.PolicyVersion | None:
    try:
        return credit.current_policy(session)
    except NotFound:
        return None


async def form_values(request: Request) -> dict[str, str]:
    """Return the posted form's text fields, stripped (already parsed by the CSRF check)."""
    form = await request.form()
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(form_values)]


def _page(
    request: Request,
    session: Session,
    platform: Platform,
    viewer: Viewer,
    ref: str | None,
    *,
    values: dict[str, str] | None = None,
    error: FinAIError | None = None,
) -> Response:
    models = credit_models(session)
    ref = ref or default_ref(models)
    policy = _policy_or_none(session)
    context: dict[str, Any] = {
        "choices": [],
        "view": None,
        "fields": [],
        "values": values or {},
        "error_field": error.field if error else None,
        "policy": policy,
        "decisions": credit.recent_decisions(session, RECENT),
        "limit": RECENT,
        "can_decide": viewer.may(*DECIDE),
    }
    if ref is not None:
        info, model = credit.load_model(session, platform.artifact_dir, ref)
        view = model_view(info, model)
        context["view"] = view
        context["fields"] = input_fields(model, policy.policy if policy else None)
        context["uses_charts"] = bool(view.figures)
        context["choices"] = [
            ModelChoice(m.name, _choice_label(m), m.name == info.name) for m in models
        ]
    flash = Flash("error", str(error)) if error else None
    status = status_for(error) if error else 200
    return render(request, "credit.html", context, viewer=viewer, flash=flash, status_code=status)


@router.get("/credit")
def credit_page(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    model: ModelRef = None,
) -> Response:
    """Show a credit model, the policy, recent decisions and (to deciders) the decide form.

    The model is ``NAME[:VERSION]`` from the query, else the demo model, else the first.
    """
    return _page(request, session, platform, viewer, model or None)


@router.post("/credit/decide")
def decide(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    form: FormDep,
) -> Response:
    """Decide one applicant with the model shown and the policy in force; store and audit it.

    Invalid input shows the page again with the message and the values entered.
    """
    ref = form.get("model", "")
    info, model = credit.load_model(session, platform.artifact_dir, ref)
    policy = _policy_or_none(session)
    fields = input_fields(model, policy.policy if policy else None)
    values = {f.name: form.get(f.form_name, "") for f in fields}
    try:
        frame = applicant_frame(fields, values)
        [decision] = credit.decide_and_record(
            session,
            platform.audit_key,
            platform.artifact_dir,
            frame,
            model_ref=f"{info.name}:{info.version}",
            actor=viewer.key.id,
        )
        session.commit()
    except FinAIError as exc:
        session.rollback()
        return _page(request, session, platform, viewer, ref, values=values, error=exc)
    done = Flash(
        "ok",
        f"Decided: {decision.outcome.value} (PD {decision.pd:.1%}, score {decision.score:.0f}).",
    )
    return redirect(request, decision_url(decision.id), done)


def _unit(session: Session, decision: credit.Decision) -> str:
    try:
        version = registry.get_version(session, decision.model_name, decision.model_version)
    except NotFound:
        return "contribution"
    return UNITS.get(str(version.params.get("algorithm")), "contribution")


def decision_waterfall(
    request: Request, session: Session, decision: credit.Decision
) -> governance.Waterfall | None:
    """Return the waterfall of a stored decision, or None when its model cannot be loaded.

    The model version comes from the app's decider (cached); the waterfall is rebuilt
    from the stored reasons, PD and score (:func:`finai.governance.decision_waterfall`).
    """
    decider: credit.Decider = request.app.state.credit_decider
    try:
        _info, model = decider.model(session, f"{decision.model_name}:{decision.model_version}")
        return governance.decision_waterfall(decision, model)
    except (NotFound, ValidationError):
        return None


@router.get("/credit/decisions/{decision_id}")
def decision_page(
    request: Request, decision_id: DecisionId, session: SessionDep, viewer: ViewerDep
) -> Response:
    """Show one decision in full: outcome, PD, score, limit, versions, reasons, waterfall.

    The waterfall goes from the model's base (the scorecard's best possible score, or
    the gradient-boosting model's average log-odds) through each stored reason to the
    decision's score or PD. Without the model version, the reasons alone are charted.
    """
    decision = credit.get_decision(session, decision_id)
    unit = _unit(session, decision)
    waterfall = decision_waterfall(request, session, decision)
    figure = None
    if waterfall is not None:
        figure = charts.waterfall_chart(waterfall, unit)
    elif any(r.contribution > 0 for r in decision.reasons):
        figure = charts.reasons_chart(decision.reasons, unit)
    context = {
        "decision": decision,
        "unit": unit,
        "figure": figure,
        "waterfall": waterfall,
        "uses_charts": figure is not None,
    }
    return render(request, "credit_decision.html", context, viewer=viewer)
