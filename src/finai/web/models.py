"""The model registry pages: versions and metrics, approval, challenger, promotion, cards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from finai import governance, registry
from finai.api.deps import PlatformDep, SessionDep
from finai.exceptions import FinAIError, ValidationError
from finai.registry import Approval, ModelVersion, Stage
from finai.web import charts
from finai.web.auth import ViewerDep
from finai.web.render import redirect, render
from finai.web.routing import WebRoute
from finai.web.session import Flash

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
LIST_VERSIONS = 5
PROMOTE = ("POST", "/models/{name}/versions/{version}/promote")
ROLLBACK = ("POST", "/models/{name}/rollback")
APPROVE = ("POST", "/models/{name}/versions/{version}/approve")
CHALLENGE = ("POST", "/models/{name}/challenger")


@dataclass(frozen=True)
class ModelCard:
    """A model as a page shows it: its newest versions (or all), champion and approved ones."""

    name: str
    versions: list[ModelVersion]
    total: int
    champion: int | None
    approved: frozenset[int]

    @classmethod
    def of(
        cls, session: Session, versions: list[ModelVersion], limit: int | None = None
    ) -> ModelCard:
        """Build the card of one model from its versions, newest first."""
        champion = next((v.version for v in versions if v.stage == Stage.CHAMPION), None)
        shown = versions[:limit]
        approved = frozenset(
            v.version for v in shown if registry.approvals(session, v.name, v.version)
        )
        return cls(versions[0].name, shown, len(versions), champion, approved)


@dataclass(frozen=True)
class Review:
    """One version under review: its approvals and what the viewer may do with it."""

    version: ModelVersion
    approvals: list[Approval]
    can_approve: bool
    can_promote: bool
    can_challenge: bool
    can_end_challenge: bool


def model_url(name: str, version: int | None = None) -> str:
    """Return the address of a model's page, showing the review of ``version`` if given."""
    url = f"/models/{quote(name, safe='')}"
    return url if version is None else f"{url}?version={version}"


def card_url(name: str, version: int) -> str:
    """Return the address of a version's model card page."""
    return f"/models/{quote(name, safe='')}/versions/{version}/card"


def _selected(versions: list[ModelVersion], wanted: int | None) -> ModelVersion:
    """Pick the version to review: the one asked for, else the challenger, else the newest."""
    by_number = {v.version: v for v in versions}
    if wanted in by_number:
        return by_number[wanted]
    challenger = next((v for v in versions if v.stage == Stage.CHALLENGER), None)
    return challenger or versions[0]


@router.get("/models")
def models(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """List every model with its newest versions, their stages, hashes and metrics."""
    cards = [
        ModelCard.of(session, registry.list_versions(session, m.name), LIST_VERSIONS)
        for m in registry.list_models(session)
    ]
    context = {
        "cards": cards,
        "can_promote": viewer.may(*PROMOTE),
        "can_rollback": viewer.may(*ROLLBACK),
    }
    return render(request, "models.html", context, viewer=viewer)


@router.get("/models/{name}")
def model(
    request: Request,
    name: str,
    session: SessionDep,
    viewer: ViewerDep,
    metric: Annotated[str | None, Query(max_length=100)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Show a model's versions, a chart of one metric, and the review of one version.

    The review lists the version's approvals, with the forms to approve it, make it
    the challenger or end its challenge, and promote it (once approved by another key
    than the one that registered it), as the viewer's role allows.
    """
    versions = registry.list_versions(session, name)
    metrics = charts.numeric_metrics(versions)
    chosen = metric if metric in metrics else (metrics[0] if metrics else None)
    figure = charts.metric_chart(versions, chosen) if chosen else None
    selected = _selected(versions, version)
    stage = selected.stage
    may_challenge = viewer.may(*CHALLENGE)
    review = Review(
        version=selected,
        approvals=registry.approvals(session, name, selected.version),
        can_approve=viewer.may(*APPROVE) and stage != Stage.RETIRED,
        can_promote=viewer.may(*PROMOTE) and stage != Stage.CHAMPION,
        can_challenge=may_challenge and stage == Stage.CANDIDATE,
        can_end_challenge=may_challenge and stage == Stage.CHALLENGER,
    )
    context = {
        "card": ModelCard.of(session, versions),
        "metrics": metrics,
        "metric": chosen,
        "figure": figure,
        "uses_charts": figure is not None,
        "can_promote": viewer.may(*PROMOTE),
        "can_rollback": viewer.may(*ROLLBACK),
        "review": review,
        "card_url": card_url(name, selected.version),
        "max_comment": registry.MAX_COMMENT,
    }
    return render(request, "model.html", context, viewer=viewer)


@router.get("/models/{name}/versions/{version}/card")
def card(
    request: Request, name: str, version: Version, session: SessionDep, viewer: ViewerDep
) -> Response:
    """Show a version's model card inside the dashboard."""
    found = governance.model_card(session, name, version)
    context = {
        "model_card": found,
        # Rendered by the card's own autoescaping template from stored facts.
        "card_html": Markup(found.html),  # noqa: S704
        "model_url": model_url(name, version),
        "markdown_url": f"/v1/models/{quote(name, safe='')}/versions/{version}/card",
    }
    return render(request, "model_card.html", context, viewer=viewer)


@router.post("/models/{name}/versions/{version}/approve")
def approve(
    request: Request,
    name: str,
    version: Version,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Approve a version as the signed-in key (never the key that registered it)."""
    back = model_url(name, version)
    try:
        registry.approve(
            session,
            platform.audit_key,
            name=name,
            version=version,
            actor=viewer.key.id,
            comment=comment,
        )
        governance.write_cards(session, name=name, actor=viewer.key.id, versions=[version])
        session.commit()
    except FinAIError as exc:
        return redirect(request, back, Flash("error", str(exc)))
    return redirect(request, back, Flash("ok", f"{name} v{version} approved."))


@router.post("/models/{name}/challenger")
def challenge(
    request: Request,
    name: str,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    version: Annotated[str, Form()] = "",
) -> Response:
    """Make a candidate the challenger, or end the challenge when no version is given."""
    try:
        number = _form_version(version)
        result = registry.challenge(
            session, platform.audit_key, name=name, version=number, actor=viewer.key.id
        )
        governance.write_cards(
            session, name=name, actor=viewer.key.id, versions=[] if number is None else [number]
        )
        session.commit()
    except FinAIError as exc:
        return redirect(request, model_url(name), Flash("error", str(exc)))
    if result is None:
        return redirect(request, model_url(name), Flash("ok", f"{name} has no challenger now."))
    done = Flash("ok", f"{name} v{result.version} is now the challenger, scored in shadow.")
    return redirect(request, model_url(name, result.version), done)


def _form_version(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) < 2**31:
        raise ValidationError("version must be a whole number >= 1", field="version")
    return int(text)


@router.post("/models/{name}/versions/{version}/promote")
def promote(
    request: Request,
    name: str,
    version: Version,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
) -> Response:
    """Make a version the champion; the old champion is retired."""
    try:
        registry.promote(
            session, platform.audit_key, name=name, version=version, actor=viewer.key.id
        )
        governance.write_cards(session, name=name, actor=viewer.key.id, versions=[version])
        session.commit()
    except FinAIError as exc:
        return redirect(request, model_url(name, version), Flash("error", str(exc)))
    done = Flash("ok", f"{name} v{version} is now the champion.")
    return redirect(request, model_url(name, version), done)


@router.post("/models/{name}/rollback")
def rollback(
    request: Request, name: str, session: SessionDep, platform: PlatformDep, viewer: ViewerDep
) -> Response:
    """Retire the champion and reinstate the one before it."""
    try:
        restored = registry.rollback(session, platform.audit_key, name=name, actor=viewer.key.id)
        governance.write_cards(session, name=name, actor=viewer.key.id, versions=[restored.version])
        session.commit()
    except FinAIError as exc:
        return redirect(request, model_url(name), Flash("error", str(exc)))
    done = Flash("ok", f"Rolled back: {name} v{restored.version} is the champion again.")
    return redirect(request, model_url(name), done)
