"""Model versions and their stages: candidate → champion → retired.

A version is immutable once registered. ``approve`` records a reviewer's sign-off;
``promote`` makes an approved version the champion and retires the one it replaces
(four eyes: the approval must come from another key than the one that registered
the version); ``rollback`` retires the champion and reinstates the champion before
it. Every change is audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import math
import platform
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finai.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from finai.registry import artifacts
from finai.registry.fingerprint import fingerprint
from finai.security import audit
from finai.store import ModelApprovalRow, ModelVersionRow, StageEventRow, utcnow

if TYPE_CHECKING:
    import pandas as pd

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
TRACKED_LIBRARIES = ("finai", "numpy", "pandas", "scikit-learn", "lightgbm", "optbinning")
MAX_COMMENT = 2000
# Line breaks and tabs belong in a reviewer's comment; other control characters do not
# (PostgreSQL text cannot hold NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Stage(StrEnum):
    """Where a version stands in its life."""

    CANDIDATE = "candidate"
    CHALLENGER = "challenger"
    CHAMPION = "champion"
    RETIRED = "retired"


@dataclass(frozen=True)
class ModelVersion:
    """A registered model version and its lineage."""

    name: str
    version: int
    stage: Stage
    kind: str
    sha256: str
    size_bytes: int
    data_fingerprint: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    seed: int | None
    libraries: dict[str, Any]
    created_at: datetime
    created_by: str | None
    promoted_at: datetime | None


@dataclass(frozen=True)
class Approval:
    """A reviewer's sign-off on a model version.

    Attributes
    ----------
    id
        The approval's number.
    name, version
        The version approved.
    approved_by
        Key id (or system actor) of the reviewer; never the key that registered it.
    comment
        What the reviewer checked and concluded.
    created_at
        When, in UTC.
    """

    id: int
    name: str
    version: int
    approved_by: str
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class StageChange:
    """One move of a version between stages, who made it and when (UTC)."""

    from_stage: Stage
    to_stage: Stage
    at: datetime
    actor: str | None


@dataclass(frozen=True)
class ModelSummary:
    """One model name: how many versions, the newest, and the champion."""

    name: str
    versions: int
    latest: int
    champion: int | None


def library_versions() -> dict[str, str]:
    """Return the Python and library versions a model was trained with."""
    found = {"python": platform.python_version()}
    for name in TRACKED_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _view(row: ModelVersionRow) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=row.version,
        stage=Stage(row.stage),
        kind=row.kind,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        data_fingerprint=row.data_fingerprint,
        params=dict(row.params),
        metrics=dict(row.metrics),
        seed=row.seed,
        libraries=dict(row.libraries),
        created_at=row.created_at,
        created_by=row.created_by,
        promoted_at=row.promoted_at,
    )


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValidationError(
            "model name must start with a letter or digit and hold only letters, digits,"
            " '_', '.' or '-' (at most 100)",
            field="name",
        )


def _check_metrics(metrics: dict[str, Any]) -> None:
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"metric {key!r} is not a finite number", field="metrics")


def register(
    session: Session,
    audit_key: bytes,
    artifact_dir: Path,
    *,
    name: str,
    model: object,
    kind: str,
    actor: str,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    seed: int | None = None,
    data: pd.DataFrame | None = None,
    data_fingerprint: str | None = None,
) -> ModelVersion:
    """Register ``model`` as the next version of ``name`` (a candidate).

    Parameters
    ----------
    session, audit_key, artifact_dir
        Where to record it, the audit HMAC key and the artifact store.
    name
        The model's name; versions count up from 1 per name.
    model
        The fitted estimator (pickled) or already-serialised ``bytes``.
    kind
        What the artifact is, e.g. ``"credit.scorecard"``.
    actor
        Key id of who registered it.
    params, metrics, seed
        Training parameters, evaluation metrics and the random seed used.
    data, data_fingerprint
        The training table (fingerprinted here) or its fingerprint.

    Returns
    -------
    ModelVersion
        The new version; the caller commits.
    """
    _check_name(name)
    metrics = dict(metrics or {})
    _check_metrics(metrics)
    if data is not None:
        data_fingerprint = fingerprint(data)
    payload = model if isinstance(model, bytes) else artifacts.dumps(model)
    digest = artifacts.write(artifact_dir, payload)
    latest = session.scalar(
        select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
    )
    row = ModelVersionRow(
        name=name,
        version=(latest or 0) + 1,
        stage=Stage.CANDIDATE.value,
        kind=kind,
        sha256=digest,
        size_bytes=len(payload),
        data_fingerprint=data_fingerprint,
        params=dict(params or {}),
        metrics=metrics,
        seed=seed,
        libraries=library_versions(),
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="model.register",
        object_type="model_version",
        object_id=f"{name}:{row.version}",
        payload={"sha256": digest, "data_fingerprint": data_fingerprint, "kind": kind},
    )
    return _view(row)


def _row(session: Session, name: str, version: int | None) -> ModelVersionRow:
    query = select(ModelVersionRow).where(ModelVersionRow.name == name)
    if version is None:
        champion = session.scalar(query.where(ModelVersionRow.stage == Stage.CHAMPION.value))
        if champion is not None:
            return champion
        row = session.scalar(query.order_by(ModelVersionRow.version.desc()).limit(1))
        if row is None:
            raise NotFound(f"no model named {name!r}", field="name")
        return row
    row = session.scalar(query.where(ModelVersionRow.version == version))
    if row is None:
        raise NotFound(f"model {name!r} has no version {version}", field="version")
    return row


def get_version(session: Session, name: str, version: int | None = None) -> ModelVersion:
    """Return a version; without one, the champion, else the newest."""
    return _view(_row(session, name, version))


def list_versions(session: Session, name: str) -> list[ModelVersion]:
    """Return every version of ``name``, newest first."""
    rows = list(
        session.scalars(
            select(ModelVersionRow)
            .where(ModelVersionRow.name == name)
            .order_by(ModelVersionRow.version.desc())
        )
    )
    if not rows:
        raise NotFound(f"no model named {name!r}", field="name")
    return [_view(row) for row in rows]


def version_ids(session: Session, name: str) -> dict[int, int]:
    """Return the stored row id of each version of ``name``, for tables that refer to one.

    Raises
    ------
    NotFound
        For an unknown name.
    """
    rows = session.execute(
        select(ModelVersionRow.version, ModelVersionRow.id).where(ModelVersionRow.name == name)
    )
    ids = {number: row_id for number, row_id in rows}
    if not ids:
        raise NotFound(f"no model named {name!r}", field="name")
    return ids


def list_models(session: Session) -> list[ModelSummary]:
    """Return one summary per model name, sorted by name."""
    rows = session.execute(
        select(ModelVersionRow.name, ModelVersionRow.version, ModelVersionRow.stage).order_by(
            ModelVersionRow.name, ModelVersionRow.version
        )
    )
    summaries: dict[str, ModelSummary] = {}
    for name, number, stage in rows:
        known = summaries.get(name)
        champion = number if stage == Stage.CHAMPION.value else (known.champion if known else None)
        summaries[name] = ModelSummary(
            name=name,
            versions=(known.versions if known else 0) + 1,
            latest=number,
            champion=champion,
        )
    return list(summaries.values())


def _move(session: Session, row: ModelVersionRow, to: Stage, actor: str, when: datetime) -> None:
    session.add(
        StageEventRow(
            model_version_id=row.id,
            name=row.name,
            from_stage=row.stage,
            to_stage=to.value,
            at=when,
            actor=actor,
        )
    )
    row.stage = to.value


def promote(
    session: Session, audit_key: bytes, *, name: str, version: int, actor: str
) -> ModelVersion:
    """Make ``version`` the champion of ``name``; the old champion is retired.

    Four eyes: the version needs an approval (:func:`approve`) by another key than
    the one that registered it. A rollback to an earlier champion needs none.

    Raises
    ------
    Conflict
        When the version is the champion already, or has no such approval; nothing
        changes.
    """
    row = _row(session, name, version)
    if row.stage == Stage.CHAMPION.value:
        raise Conflict(f"{name}:{version} is already the champion", field="version")
    signed = [a for a in _approval_rows(session, row) if a.approved_by != row.created_by]
    if not signed:
        raise Conflict(
            f"four-eyes rule: {name}:{version} needs an approval by another key than the one"
            f" that registered it ({row.created_by}) before it may become the champion",
            field="version",
        )
    current = session.scalar(
        select(ModelVersionRow).where(
            ModelVersionRow.name == name, ModelVersionRow.stage == Stage.CHAMPION.value
        )
    )
    when = utcnow()
    if current is not None:
        _move(session, current, Stage.RETIRED, actor, when)
    _move(session, row, Stage.CHAMPION, actor, when)
    row.promoted_at = when
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="model.promote",
        object_type="model_version",
        object_id=f"{name}:{version}",
        payload={
            "previous_champion": current.version if current else None,
            "approvals": [{"id": a.id, "approved_by": a.approved_by} for a in signed],
        },
    )
    return _view(row)


def _approval_rows(session: Session, row: ModelVersionRow) -> list[ModelApprovalRow]:
    return list(
        session.scalars(
            select(ModelApprovalRow)
            .where(ModelApprovalRow.model_version_id == row.id)
            .order_by(ModelApprovalRow.id)
        )
    )


def _approval(row: ModelApprovalRow) -> Approval:
    return Approval(
        id=row.id,
        name=row.name,
        version=row.version,
        approved_by=row.approved_by,
        comment=row.comment,
        created_at=row.created_at,
    )


def _check_comment(comment: str) -> str:
    text = comment.strip()
    if not text:
        raise ValidationError("an approval needs a comment", field="comment")
    if len(text) > MAX_COMMENT:
        raise ValidationError(
            f"the comment is {len(text)} characters long; at most {MAX_COMMENT}", field="comment"
        )
    if _CONTROL.search(text):
        raise ValidationError(
            "the comment holds control characters (only line breaks and tabs are kept)",
            field="comment",
        )
    return text


def approve(
    session: Session, audit_key: bytes, *, name: str, version: int, actor: str, comment: str
) -> Approval:
    """Record ``actor``'s approval of ``name:version``, needed before it may be promoted.

    Four eyes: the key that registered a version may not approve it. The comment
    is kept in full with the approval; the audit entry holds its sha256 and length,
    which bind the stored text to the chain.

    Parameters
    ----------
    session, audit_key
        Where to record it and the audit HMAC key.
    name, version
        The version to approve.
    actor
        Key id of the reviewer.
    comment
        What the reviewer checked and concluded (1 to 2000 characters once
        surrounding blanks are removed; line breaks allowed).

    Returns
    -------
    Approval
        The stored approval; the caller commits.

    Raises
    ------
    ValidationError
        (``field="comment"``) for an empty, too long or control-character comment.
    PermissionDenied
        (``field="actor"``) when ``actor`` registered the version.
    Conflict
        When the version is retired or ``actor`` approved it already.
    NotFound
        For an unknown name or version.
    """
    text = _check_comment(comment)
    row = _row(session, name, version)
    if actor == row.created_by:
        raise PermissionDenied(
            f"four-eyes rule: {actor} registered {name}:{version} and may not approve it;"
            " another key must",
            field="actor",
        )
    if row.stage == Stage.RETIRED.value:
        raise Conflict(f"{name}:{version} is retired; it cannot be approved", field="version")
    if any(a.approved_by == actor for a in _approval_rows(session, row)):
        raise Conflict(f"{actor} has approved {name}:{version} already", field="actor")
    approval = ModelApprovalRow(
        model_version_id=row.id,
        name=row.name,
        version=row.version,
        approved_by=actor,
        comment=text,
        created_at=utcnow(),
    )
    session.add(approval)
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="model.approve",
        object_type="model_version",
        object_id=f"{name}:{version}",
        payload={
            "approval": approval.id,
            "comment_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "comment_length": len(text),
        },
    )
    return _approval(approval)


def approvals(session: Session, name: str, version: int) -> list[Approval]:
    """Return the approvals of ``name:version``, oldest first."""
    return [_approval(a) for a in _approval_rows(session, _row(session, name, version))]


def stage_history(session: Session, name: str, version: int) -> list[StageChange]:
    """Return every stage change of ``name:version``, oldest first."""
    row = _row(session, name, version)
    events = session.scalars(
        select(StageEventRow)
        .where(StageEventRow.model_version_id == row.id)
        .order_by(StageEventRow.at, StageEventRow.id)
    )
    return [StageChange(Stage(e.from_stage), Stage(e.to_stage), e.at, e.actor) for e in events]


def challenger(session: Session, name: str) -> ModelVersion | None:
    """Return the version of ``name`` that scores live requests in shadow, if any."""
    row = session.scalar(
        select(ModelVersionRow).where(
            ModelVersionRow.name == name, ModelVersionRow.stage == Stage.CHALLENGER.value
        )
    )
    return None if row is None else _view(row)


def challenge(
    session: Session, audit_key: bytes, *, name: str, version: int | None, actor: str
) -> ModelVersion | None:
    """Make ``version`` the challenger of ``name``, or end the challenge (``version=None``).

    A challenger scores every live request beside the champion, in shadow: its
    answers are stored apart and never change a decision. A model has at most one;
    the one it replaces goes back to candidate.

    Raises
    ------
    Conflict
        When ``version`` is the champion or is retired, or when there is no
        challenge to end.
    """
    current = session.scalar(
        select(ModelVersionRow).where(
            ModelVersionRow.name == name, ModelVersionRow.stage == Stage.CHALLENGER.value
        )
    )
    row = None if version is None else _row(session, name, version)
    if row is None and current is None:
        _row(session, name, None)  # an unknown name is not found, not a conflict
        raise Conflict(f"model {name!r} has no challenger", field="name")
    if row is not None and row.stage in {Stage.CHAMPION.value, Stage.RETIRED.value}:
        raise Conflict(
            f"{name}:{row.version} is {row.stage}; only a candidate may challenge",
            field="version",
        )
    if row is not None and row is current:
        return _view(row)
    when = utcnow()
    if current is not None:
        _move(session, current, Stage.CANDIDATE, actor, when)
    if row is not None:
        _move(session, row, Stage.CHALLENGER, actor, when)
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="model.challenge",
        object_type="model",
        object_id=name,
        payload={
            "challenger": None if row is None else row.version,
            "previous": None if current is None else current.version,
        },
    )
    return None if row is None else _view(row)


def rollback(session: Session, audit_key: bytes, *, name: str, actor: str) -> ModelVersion:
    """Retire the champion of ``name`` and reinstate the champion before it.

    Raises
    ------
    Conflict
        When there is no champion, or no earlier champion to return to.
    """
    rows = list(session.scalars(select(ModelVersionRow).where(ModelVersionRow.name == name)))
    if not rows:
        raise NotFound(f"no model named {name!r}", field="name")
    current = next((r for r in rows if r.stage == Stage.CHAMPION.value), None)
    if current is None:
        raise Conflict(f"model {name!r} has no champion to roll back", field="name")
    earlier = [
        r
        for r in rows
        if r.stage == Stage.RETIRED.value
        and r.promoted_at is not None
        and current.promoted_at is not None
        and r.promoted_at <= current.promoted_at
    ]
    if not earlier:
        raise Conflict(f"model {name!r} has no earlier champion to return to", field="name")
    previous = max(earlier, key=lambda r: (r.promoted_at, r.version))
    when = utcnow()
    _move(session, current, Stage.RETIRED, actor, when)
    current.promoted_at = None
    _move(session, previous, Stage.CHAMPION, actor, when)
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="model.rollback",
        object_type="model_version",
        object_id=f"{name}:{previous.version}",
        payload={"retired": current.version},
    )
    return _view(previous)


def load(
    session: Session, artifact_dir: Path, name: str, version: int | None = None
) -> tuple[ModelVersion, object]:
    """Load a version's model after checking its bytes against the registered sha256.

    The bytes are read and hashed on every call; only the unpickled object is reused
    for bytes already seen, so a tampered file is refused even after a first load.
    """
    info = get_version(session, name, version)
    data = artifacts.read_verified(artifact_dir, info.sha256)
    return info, artifacts.loads_cached(info.sha256, data)


M = TypeVar("M")


def load_ref(
    session: Session, artifact_dir: Path, ref: str, *, kind: str, cls: type[M], what: str
) -> tuple[ModelVersion, M]:
    """Load a model by ``NAME[:VERSION]`` (champion, else newest) and check what it is.

    Parameters
    ----------
    kind, cls
        The registered kind and the class the model must have.
    what
        The model's description in the error, e.g. ``"a credit model"``.

    Raises
    ------
    ValidationError
        For a bad reference or a model of another kind (``field="model"``).
    NotFound
        For an unknown name or version.
    """
    name, number = parse_ref(ref)
    info, model = load(session, artifact_dir, name, number)
    if info.kind != kind or not isinstance(model, cls):
        raise ValidationError(f"model {name!r} is not {what}", field="model")
    return info, model


def parse_ref(ref: str) -> tuple[str, int | None]:
    """Split a model reference ``NAME[:VERSION]``; no version means the champion (else newest).

    Raises
    ------
    ValidationError
        (``field="model"``) for an empty name or a version that is not a whole
        number >= 1.
    """
    name, _, version = ref.partition(":")
    if not name:
        raise ValidationError("model reference must be NAME or NAME:VERSION", field="model")
    if not version:
        return name, None
    if not version.isascii() or not version.isdigit() or int(version) < 1:
        raise ValidationError(
            f"model version must be a positive whole number, got {version!r}", field="model"
        )
    return name, int(version)
