"""Request and response bodies, one model per purpose; none carries a secret it need not."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from finai.registry import MAX_COMMENT, Approval, ModelSummary, ModelVersion, Stage
from finai.security import ApiKey, AuditEntry, Role, VerifyResult

ModelRef = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(:[1-9][0-9]{0,8})?$")
]
# Control characters (NUL above all) have no place in stored text and cannot be kept in
# PostgreSQL text columns; they are refused here with the field named.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
RECORD_ID = r"^[0-9a-f]{32}$"
"""The id of a stored record: a decision, an alert, a conversation, a handoff."""


class Strict(BaseModel):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    """Liveness answer."""

    status: str
    version: str


class Readiness(BaseModel):
    """Readiness answer: is the database reachable and migrated."""

    status: str
    database: str
    migrations_current: bool


class WhoAmI(BaseModel):
    """The calling key."""

    key_id: str
    name: str
    role: Role


class KeyCreate(Strict):
    """A new API key."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w .@-]+$")
    role: Role
    expires_in_days: float | None = Field(default=None, ge=0.01, le=3650)


class KeyPublic(BaseModel):
    """A key as shown to admins: never its secret or hash."""

    id: str
    name: str
    role: Role
    active: bool
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_domain(cls, key: ApiKey) -> KeyPublic:
        """Translate the domain value."""
        return cls(
            id=key.id,
            name=key.name,
            role=key.role,
            active=key.active,
            created_at=key.created_at,
            created_by=key.created_by,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


class KeyCreated(KeyPublic):
    """A just-created key, with its token: the only time it is shown."""

    token: str


class KeysPublic(BaseModel):
    """A list of keys."""

    data: list[KeyPublic]
    count: int


class ModelVersionPublic(BaseModel):
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

    @classmethod
    def from_domain(cls, value: ModelVersion) -> ModelVersionPublic:
        """Translate the domain value."""
        return cls(**vars(value))


# Text with at least one visible character; line breaks and tabs, but no other control
# characters (the registry applies the same rule to comments from every face).
COMMENT = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
)


class ApprovalCreate(Strict):
    """A reviewer's approval: what they checked and concluded (1 to 2000 characters)."""

    comment: str = Field(min_length=1, max_length=MAX_COMMENT, pattern=COMMENT)


class ApprovalPublic(BaseModel):
    """One approval of a model version."""

    id: int
    name: str
    version: int
    approved_by: str
    comment: str
    created_at: datetime

    @classmethod
    def from_domain(cls, value: Approval) -> ApprovalPublic:
        """Translate the domain value."""
        return cls(**vars(value))


class ModelVersionDetailPublic(ModelVersionPublic):
    """A model version with its approvals (promotion needs one by another key)."""

    approvals: list[ApprovalPublic]

    @classmethod
    def of(cls, value: ModelVersion, approvals: list[Approval]) -> ModelVersionDetailPublic:
        """Translate the domain values."""
        return cls(**vars(value), approvals=[ApprovalPublic.from_domain(a) for a in approvals])


class ChallengerUpdate(Strict):
    """Which version challenges the champion; ``null`` ends the challenge."""

    version: int | None = Field(ge=1, le=2**31 - 1)


class ChallengerPublic(BaseModel):
    """A model's challenger after the change (``null`` when there is none)."""

    name: str
    challenger: ModelVersionPublic | None


class ModelSummaryPublic(BaseModel):
    """One model name."""

    name: str
    versions: int
    latest: int
    champion: int | None

    @classmethod
    def from_domain(cls, value: ModelSummary) -> ModelSummaryPublic:
        """Translate the domain value."""
        return cls(**vars(value))


class ModelsPublic(BaseModel):
    """The registry's models."""

    data: list[ModelSummaryPublic]
    count: int


class ModelVersionsPublic(BaseModel):
    """Versions of one model, newest first."""

    data: list[ModelVersionPublic]
    count: int


class AuditEntryPublic(BaseModel):
    """One audit chain entry."""

    seq: int
    created_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: dict[str, Any]
    payload_hash: str
    prev_hash: str
    mac: str

    @classmethod
    def from_domain(cls, value: AuditEntry) -> AuditEntryPublic:
        """Translate the domain value."""
        return cls(**vars(value))


class AuditEntriesPublic(BaseModel):
    """A page of audit entries, newest first."""

    data: list[AuditEntryPublic]
    count: int


class VerifyPublic(BaseModel):
    """The result of verifying the chain."""

    ok: bool
    count: int
    first_bad_seq: int | None
    reason: str | None

    @classmethod
    def from_domain(cls, value: VerifyResult) -> VerifyPublic:
        """Translate the domain value."""
        return cls(**vars(value))


class FieldProblem(BaseModel):
    """One field that failed validation, and why."""

    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document, as every error is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldProblem] | None = None
