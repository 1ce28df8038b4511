"""Request and response bodies of the assistant API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from finai.api.schemas import RECORD_ID, Strict
from finai.assist.pipeline import Reply
from finai.assist.records import Handoff, Message

ConversationId = Annotated[str, StringConstraints(pattern=RECORD_ID)]
MAX_TEXT = 100_000
"""A hard ceiling on the text field; the configured ``FINAI_ASSIST_MAX_CHARS`` is lower."""


class MessageCreate(Strict):
    """A customer's message."""

    text: str = Field(
        max_length=MAX_TEXT,
        description="the message; at most FINAI_ASSIST_MAX_CHARS characters (2000 by default)."
        " Card numbers, IBANs, account numbers, e-mail addresses, phone numbers and national"
        " ids are replaced by placeholders before anything is stored or logged",
    )
    conversation_id: ConversationId | None = Field(
        default=None, description="continue this conversation (one this key opened)"
    )


class StaffReplyCreate(Strict):
    """A member of staff's reply to a customer."""

    text: str = Field(max_length=MAX_TEXT)


class HandoffAssign(Strict):
    """Who takes a handoff (default: the caller's key name)."""

    assignee: str | None = Field(default=None, min_length=1, max_length=100)


class SentimentPublic(BaseModel):
    """The message's sentiment: a label and a score in [-1, 1]."""

    label: Literal["negative", "neutral", "positive"]
    score: float


class SourcePublic(BaseModel):
    """A knowledge-base entry an answer quotes."""

    key: str
    version: int
    title: str


class HandoffPublic(BaseModel):
    """A conversation handed to a person."""

    id: str
    conversation_id: str
    reason: str
    status: str
    created_at: datetime
    assignee: str | None
    resolved_at: datetime | None
    resolved_by: str | None

    @classmethod
    def from_domain(cls, value: Handoff) -> HandoffPublic:
        """Build from the stored handoff."""
        return cls(
            id=value.id,
            conversation_id=value.conversation_id,
            reason=value.reason,
            status=value.status,
            created_at=value.created_at,
            assignee=value.assignee,
            resolved_at=value.resolved_at,
            resolved_by=value.resolved_by,
        )


class HandoffsPublic(BaseModel):
    """A page of the handoff queue."""

    data: list[HandoffPublic]
    count: int
    total: int


class ReplyPublic(BaseModel):
    """The assistant's answer to one message."""

    conversation_id: str
    message_id: str
    intent: str | None = Field(description="the recognised intent; null when out of scope")
    confidence: float
    action: Literal["answer", "clarify", "handoff"]
    sentiment: SentimentPublic
    message: str = Field(description="what the assistant says to the customer")
    answer: str | None = Field(
        description="the knowledge-base entry quoted, naming its key and version; null when"
        " the assistant did not answer"
    )
    sources: list[SourcePublic]
    handoff: HandoffPublic | None = Field(
        description="the handoff to a person this message opened, or the conversation is in"
    )
    redacted: dict[str, int] = Field(description="kinds of personal data replaced, with counts")
    language: str
    transcript: str | None = Field(default=None, description="for audio: what was heard, redacted")

    @classmethod
    def from_domain(cls, value: Reply) -> ReplyPublic:
        """Build from the domain's reply."""
        turn = value.turn
        return cls(
            conversation_id=value.conversation_id,
            message_id=value.message_id,
            intent=turn.intent,
            confidence=turn.confidence,
            action=turn.action,
            sentiment=SentimentPublic(
                label=turn.sentiment,
                score=turn.sentiment_score,
            ),
            message=turn.reply,
            answer=turn.answer,
            sources=[
                SourcePublic(key=s.key, version=s.version, title=s.title) for s in turn.sources
            ],
            handoff=None if value.handoff is None else HandoffPublic.from_domain(value.handoff),
            redacted=turn.redacted,
            language=turn.language,
            transcript=value.transcript,
        )


class MessagePublic(BaseModel):
    """One stored message, as staff see it (the text is redacted; null once erased)."""

    id: str
    created_at: datetime
    sender: str
    channel: str
    text: str | None
    redacted: dict[str, int]
    intent: str | None
    confidence: float | None
    action: str | None
    sentiment: str | None
    sentiment_score: float | None
    sources: list[dict[str, Any]]

    @classmethod
    def from_domain(cls, value: Message) -> MessagePublic:
        """Build from the stored message."""
        return cls(
            id=value.id,
            created_at=value.created_at,
            sender=value.sender,
            channel=value.channel,
            text=value.text,
            redacted=value.redacted,
            intent=value.intent,
            confidence=value.confidence,
            action=value.action,
            sentiment=value.sentiment,
            sentiment_score=value.sentiment_score,
            sources=value.sources,
        )


class ConversationPublic(BaseModel):
    """A conversation with its messages, oldest first."""

    id: str
    status: str
    created_at: datetime
    updated_at: datetime
    handoff: HandoffPublic | None
    messages: list[MessagePublic]


class EntryPublic(BaseModel):
    """One knowledge-base entry (its current version)."""

    key: str
    version: int
    title: str
    body: str
    source: str
    intents: list[str]


class EntriesPublic(BaseModel):
    """Knowledge-base entries."""

    data: list[EntryPublic]
    count: int
