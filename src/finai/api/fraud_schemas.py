"""Request and response bodies of the fraud API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, model_validator

from finai.api.schemas import NO_CONTROL, ModelRef, Strict
from finai.fraud import Action, ScoreResult
from finai.fraud.records import Alert, StoredScore

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_CONTROL)]
CardNumber = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=NO_CONTROL)]


def _iso_text(value: object) -> object:
    """Refuse epoch numbers: a timestamp is ISO 8601 text, as documented."""
    if not isinstance(value, str):
        raise ValueError("must be ISO 8601 text, e.g. 2026-06-01T12:00:00Z")
    return value


def _number(value: object) -> object:
    """Refuse amounts sent as text or true/false."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return value


class TransactionCreate(Strict):
    """One card transaction to score."""

    transaction_id: Id = Field(description="unique; a retry with the same id gets the first answer")
    timestamp: Annotated[datetime, BeforeValidator(_iso_text)] = Field(
        description="ISO 8601 text; without an offset it is UTC"
    )
    customer_id: Id | None = Field(
        default=None, description="the card, as your token (or send card_number instead)"
    )
    card_number: CardNumber | None = Field(
        default=None,
        description="the card number (instead of customer_id): checked, then kept only as"
        " a keyed token with its BIN and last four, shown masked",
    )
    terminal_id: Id = Field(description="the merchant's terminal")
    amount: Annotated[float, BeforeValidator(_number)] = Field(ge=0, allow_inf_nan=False)
    model: ModelRef | None = Field(
        default=None, description="NAME or NAME:VERSION; default: the configured fraud model"
    )
    explain: bool = Field(
        default=False,
        description="reasons for an allowed transaction too (review and block always get them)",
    )

    @model_validator(mode="after")
    def _one_card(self) -> TransactionCreate:
        if (self.customer_id is None) == (self.card_number is None):
            raise ValueError("send exactly one of customer_id and card_number")
        return self


class ReasonPublic(BaseModel):
    """A feature that raised the score."""

    feature: str
    value: float
    contribution: float


class ScorePublic(BaseModel):
    """The answer for one transaction."""

    transaction_id: str
    score: float
    action: Action
    reasons: list[ReasonPublic]
    model_name: str
    model_version: int
    degraded: bool = Field(description="the state store was down: history was not used")
    replayed: bool = Field(description="the first answer for an id scored before")
    scored_at: datetime

    @classmethod
    def from_domain(cls, r: ScoreResult) -> ScorePublic:
        """Translate the domain value."""
        return cls(
            transaction_id=r.transaction_id,
            score=r.score,
            action=r.action,
            reasons=[ReasonPublic(**vars(x)) for x in r.reasons],
            model_name=r.model_name,
            model_version=r.model_version,
            degraded=r.degraded,
            replayed=r.replayed,
            scored_at=r.scored_at,
        )


class StoredScorePublic(ScorePublic):
    """A stored score with its transaction."""

    occurred_at: datetime
    customer_id: str
    terminal_id: str
    amount: float
    source: str

    @classmethod
    def from_stored(cls, s: StoredScore) -> StoredScorePublic:
        """Translate the stored view."""
        return cls(
            transaction_id=s.transaction_id,
            score=s.score,
            action=Action(s.action),
            reasons=[ReasonPublic(**vars(x)) for x in s.reasons],
            model_name=s.model_name,
            model_version=s.model_version,
            degraded=s.degraded,
            replayed=False,
            scored_at=s.scored_at,
            occurred_at=s.occurred_at,
            customer_id=s.customer_id,
            terminal_id=s.terminal_id,
            amount=s.amount,
            source=s.source,
        )


class LabelCreate(Strict):
    """A verdict on one transaction."""

    transaction_id: Id
    is_fraud: bool
    source: Literal["chargeback", "analyst"] = "chargeback"


class LabelsCreate(Strict):
    """Verdicts to store; they feed the delayed terminal risk and the next training set."""

    labels: list[LabelCreate] = Field(min_length=1, max_length=10_000)


class LabelsPublic(BaseModel):
    """What happened to the labels."""

    count: int = Field(description="labels stored")
    in_state: int = Field(description="labels of transactions the online state still keeps")


class AlertPublic(BaseModel):
    """An alert of the review queue."""

    id: str
    transaction_id: str
    created_at: datetime
    score: float
    action: Action
    amount: float
    status: str
    assignee: str | None
    resolution: str | None
    note: str
    resolved_at: datetime | None
    resolved_by: str | None

    @classmethod
    def from_domain(cls, a: Alert) -> AlertPublic:
        """Translate the domain value."""
        return cls.model_validate(a, from_attributes=True)


class AlertsPublic(BaseModel):
    """A page of alerts."""

    data: list[AlertPublic]
    count: int = Field(description="alerts on this page")
    total: int = Field(description="alerts of the status asked for, on every page")


class AlertAssign(Strict):
    """Who works the alert (default: the caller's key)."""

    assignee: (
        Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_CONTROL)] | None
    ) = None


class AlertResolve(Strict):
    """The analyst's verdict."""

    resolution: Literal["fraud", "legitimate"]
    note: Annotated[str, StringConstraints(max_length=2_000, pattern=NO_CONTROL)] = ""
