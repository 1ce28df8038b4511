"""Request and response bodies of the credit API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from finai.api.schemas import NO_CONTROL, ModelRef, Strict
from finai.credit import Decision, Outcome, PolicyVersion
from finai.credit.records import WITHHELD

FieldName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_CONTROL)]
Text = Annotated[str, StringConstraints(max_length=1_000, pattern=NO_CONTROL)]
Value = Text | float | int | bool | None
Applicant = Annotated[dict[FieldName, Value], Field(min_length=1, max_length=500)]
# Training form fields besides column names (FieldName): monotone entries and a YAML spec.
MonotoneEntry = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=NO_CONTROL)]
SpecText = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


NationalId = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=NO_CONTROL)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]
Address = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_CONTROL)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=NO_CONTROL)]
Phone = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=NO_CONTROL)]
Notes = Annotated[str, StringConstraints(min_length=1, max_length=2_000, pattern=NO_CONTROL)]


class PersonalCreate(Strict):
    """Who the applicant is: kept sealed under their own data key, never used to decide."""

    national_id: NationalId = Field(description="the person's id; their data is found by it")
    name: Name | None = None
    address: Address | None = None
    email: Email | None = None
    phone: Phone | None = None
    date_of_birth: date | None = None
    notes: Notes | None = None


class PersonalPublic(PersonalCreate):
    """An applicant's personal data, as opened for an authorised reader (audited)."""


class ApplicantSearch(Strict):
    """Find a person's decisions by national id (compared through a keyed blind index)."""

    national_id: NationalId


class ApplicantDecisions(BaseModel):
    """The ids of one person's decisions, newest first."""

    decision_ids: list[str]


class DecisionCreate(Strict):
    """One applicant to decide."""

    model: ModelRef = Field(description="NAME (its champion, else newest) or NAME:VERSION")
    applicant: Applicant
    applicant_ref: Annotated[str, StringConstraints(max_length=100, pattern=NO_CONTROL)] | None = (
        Field(default=None, description="your reference; not for personal data")
    )
    personal: PersonalCreate | None = Field(
        default=None, description="who the applicant is, kept encrypted (see docs/security.md)"
    )


class BatchCreate(Strict):
    """Up to 10,000 applicants decided together; all are stored or none."""

    model: ModelRef
    applicants: Annotated[list[Applicant], Field(min_length=1, max_length=10_000)]
    ref_field: FieldName | None = Field(
        default=None, description="an applicant field holding your own reference"
    )


class ReasonPublic(BaseModel):
    """One adverse-action reason."""

    feature: str
    value: str | None = Field(
        description="the applicant's value; null where it is not kept or no longer readable"
    )
    contribution: float
    text: str


class DecisionPublic(BaseModel):
    """A decision as stored."""

    id: str
    outcome: Outcome
    pd: float
    score: float
    limit: Decimal | None
    currency: str
    model_name: str
    model_version: int
    policy_version: int
    input_hash: str
    reasons: list[ReasonPublic]
    knockouts: list[str]
    applicant_ref: str | None
    created_at: datetime

    @classmethod
    def from_domain(cls, d: Decision) -> DecisionPublic:
        """Translate the domain value."""
        return cls(
            id=d.id,
            outcome=d.outcome,
            pd=d.pd,
            score=d.score,
            limit=d.limit,
            currency=d.currency,
            model_name=d.model_name,
            model_version=d.model_version,
            policy_version=d.policy_version,
            input_hash=d.input_hash,
            reasons=[
                ReasonPublic(
                    feature=r.feature,
                    value=None if r.value == WITHHELD else r.value,
                    contribution=r.contribution,
                    text=r.text,
                )
                for r in d.reasons
            ],
            knockouts=list(d.knockouts),
            applicant_ref=d.applicant_ref,
            created_at=d.created_at,
        )


class DecisionsPublic(BaseModel):
    """A list of decisions."""

    data: list[DecisionPublic]
    count: int


class BatchPublic(BaseModel):
    """A decided batch."""

    batch_id: str
    count: int
    outcomes: dict[str, int]
    data: list[DecisionPublic]


class PolicyUpdate(Strict):
    """A new policy as YAML text."""

    yaml: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


class PolicyPublic(BaseModel):
    """A stored policy version."""

    version: int
    name: str
    sha256: str
    yaml: str
    policy: dict[str, Any]
    created_at: datetime
    created_by: str

    @classmethod
    def from_domain(cls, p: PolicyVersion) -> PolicyPublic:
        """Translate the domain value."""
        return cls(
            version=p.version,
            name=p.policy.name,
            sha256=p.sha256,
            yaml=p.body,
            policy=p.policy.model_dump(mode="json"),
            created_at=p.created_at,
            created_by=p.created_by,
        )


class JobPublic(BaseModel):
    """A background job's state."""

    id: str
    kind: str
    status: str
    progress: float
    message: str
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime
