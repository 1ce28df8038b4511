"""Stored conversations, their sealed messages and the staff's handoff queue.

Only redacted text is ever given to these functions, and even that is kept sealed
under the conversation's own data key (:mod:`finai.security.vault`, the conversation id
is the subject): ``finai data erase --subject <conversation id>`` makes every message of
it unreadable at once, while the rows (intent, sentiment, action, sources) stay for the
statistics. Every assistant reply, every handoff, every staff reply and every opening
of a conversation by staff is audited — with ids, the intent, the action and the
sources' keys and versions, never the text. Functions take a session and never commit.

A conversation belongs to the key of the channel that opened it: another key asking for
it is told it does not exist, exactly as for an unknown id. While a handoff is
unresolved the conversation's status is ``"staff"`` and the assistant does not answer;
resolving the last one gives it back to the assistant (``"bot"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from finai.assist.assistant import HANDOFF_REASONS, Turn
from finai.exceptions import Conflict, NotFound, ValidationError
from finai.security import audit
from finai.security.vault import Erased, Vault
from finai.store import AssistConversationRow, AssistHandoffRow, AssistMessageRow, utcnow

__all__ = [
    "HANDOFF_STATUSES",
    "PURPOSE",
    "Conversation",
    "DayStats",
    "Handoff",
    "Message",
    "Recorded",
    "assign_handoff",
    "count_handoffs",
    "daily_stats",
    "get_conversation",
    "get_handoff",
    "list_handoffs",
    "read_conversation",
    "record_turn",
    "resolve_handoff",
    "staff_reply",
    "waiting_handoff",
]

PURPOSE = "assist.message"
HANDOFF_STATUSES = ("open", "assigned", "resolved")
BOT, STAFF = "bot", "staff"
MAX_ASSIGNEE = 100


@dataclass(frozen=True)
class Conversation:
    """A conversation: who opened it (a key id) and who answers it now (bot or staff)."""

    id: str
    owner: str
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Message:
    """One message as staff see it: the redacted text (None once erased) and its reading.

    ``sender`` is ``"customer"``, ``"assistant"`` or ``"staff"``; ``channel`` is
    ``"text"`` or ``"audio"`` (for a customer), ``"bot"`` or ``"staff"`` otherwise.
    """

    id: str
    conversation_id: str
    created_at: datetime
    sender: str
    channel: str
    text: str | None
    redacted: dict[str, int]
    language: str | None
    intent: str | None
    confidence: float | None
    action: str | None
    sentiment: str | None
    sentiment_score: float | None
    sources: list[dict[str, Any]]


@dataclass(frozen=True)
class Handoff:
    """A conversation handed to a person; ``status`` is open, assigned or resolved."""

    id: str
    conversation_id: str
    message_id: str
    reason: str
    status: str
    created_at: datetime
    assignee: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What storing a turn made: the conversation, both messages and any new handoff."""

    conversation: Conversation
    message_id: str
    reply_id: str
    handoff: Handoff | None


@dataclass(frozen=True)
class DayStats:
    """Customer messages of one UTC day: how many, by intent, their mean sentiment.

    Attributes
    ----------
    intents
        Intent -> messages (``None`` intents, out of scope or unclassified, under ``"-"``).
    sentiment
        Mean sentiment score in [-1, 1], None without messages.
    """

    day: date
    messages: int
    handoffs: int
    intents: dict[str, int]
    sentiment: float | None


def _new_id() -> str:
    return uuid4().hex


def _conversation_view(row: AssistConversationRow) -> Conversation:
    return Conversation(row.id, row.owner, row.status, row.created_at, row.updated_at)


def _handoff_view(row: AssistHandoffRow) -> Handoff:
    return Handoff(
        id=row.id,
        conversation_id=row.conversation_id,
        message_id=row.message_id,
        reason=row.reason,
        status=row.status,
        created_at=row.created_at,
        assignee=row.assignee,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
    )


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise ValidationError(
            f"{field} must be one of {', '.join(allowed)}, got {str(value)[:40]!r}", field=field
        )
    return value


def _page(limit: int, offset: int) -> tuple[int, int]:
    if limit < 1 or offset < 0:
        raise ValidationError("limit must be >= 1 and offset >= 0", field="limit")
    return limit, offset


def get_conversation(
    session: Session, conversation_id: str, *, owner: str | None = None
) -> Conversation:
    """Return a conversation; with ``owner``, only when that key opened it.

    Raises
    ------
    NotFound
        For an unknown id, and (with the same message) for another key's conversation.
    """
    row = session.get(AssistConversationRow, conversation_id)
    if row is None or (owner is not None and row.owner != owner):
        raise NotFound(f"no conversation {conversation_id!r}", field="conversation_id")
    return _conversation_view(row)


def _seal(session: Session, vault: Vault, conversation_id: str, text: str) -> bytes:
    return vault.seal(session, conversation_id, {"text": text}, purpose=PURPOSE)


def record_turn(
    session: Session,
    vault: Vault,
    audit_key: bytes,
    *,
    turn: Turn,
    conversation_id: str | None,
    owner: str,
    channel: str,
    actor: str,
) -> Recorded:
    """Store a customer's message and the assistant's reply, open a handoff if due (audited).

    Parameters
    ----------
    turn
        The assistant's reading of the message (its text already redacted).
    conversation_id
        The conversation it belongs to; None opens a new one.
    owner
        The key of the channel: a new conversation is theirs, an existing one must be.
    channel
        ``"text"`` or ``"audio"``.
    actor
        Who acted, for the audit chain.

    Raises
    ------
    NotFound
        For an unknown conversation or another key's.
    """
    _choice(channel, ("text", "audio"), "channel")
    if turn.handoff_reason is not None:
        _choice(turn.handoff_reason, HANDOFF_REASONS, "reason")
    now = utcnow()
    status = STAFF if turn.handoff_reason is not None else None
    if conversation_id is None:
        conversation = Conversation(_new_id(), owner, status or BOT, now, now)
        session.execute(insert(AssistConversationRow).values(**asdict(conversation)))
    else:
        found = get_conversation(session, conversation_id, owner=owner)
        conversation = Conversation(found.id, owner, status or found.status, found.created_at, now)
        session.execute(
            update(AssistConversationRow)
            .where(AssistConversationRow.id == found.id)
            .values(status=conversation.status, updated_at=now)
        )
    cid = conversation.id
    message_id, reply_id = _new_id(), _new_id()
    sources = [{"key": s.key, "version": s.version, "title": s.title} for s in turn.sources]
    # Core statements, in one executemany: the text path stores two rows per message.
    common: dict[str, Any] = {"conversation_id": cid, "language": turn.language, "actor": actor}
    common |= {"intent": turn.intent, "confidence": turn.confidence}
    session.execute(
        insert(AssistMessageRow),
        [
            {
                **common,
                "id": message_id,
                "created_at": now,
                "sender": "customer",
                "channel": channel,
                "sealed": _seal(session, vault, cid, turn.text),
                "redacted": dict(turn.redacted),
                "action": None,
                "sentiment": turn.sentiment,
                "sentiment_score": turn.sentiment_score,
                "sources": [],
            },
            {
                **common,
                "id": reply_id,
                "created_at": now + timedelta(microseconds=1),
                "sender": "assistant",
                "channel": BOT,
                "sealed": _seal(session, vault, cid, turn.reply),
                "redacted": {},
                "action": turn.action,
                "sentiment": None,
                "sentiment_score": None,
                "sources": sources,
            },
        ],
    )
    handoff = None
    if turn.handoff_reason is not None:
        handoff = Handoff(_new_id(), cid, message_id, turn.handoff_reason, "open", now)
        session.execute(insert(AssistHandoffRow).values(**asdict(handoff)))
    payload: dict[str, Any] = {
        "message_id": message_id,
        "reply_id": reply_id,
        "channel": channel,
        "intent": turn.intent,
        "confidence": round(turn.confidence, 6),
        "action": turn.action,
        "sentiment": turn.sentiment,
        "redacted": dict(sorted(turn.redacted.items())),
        "sources": [{"key": s["key"], "version": s["version"]} for s in sources],
    }
    audit.append(
        session,
        audit_key,
        actor=actor,
        action=f"assist.{turn.action}",
        object_type="assist_conversation",
        object_id=cid,
        payload=payload,
    )
    if handoff is not None:
        audit.append(
            session,
            audit_key,
            actor=actor,
            action="assist.handoff.open",
            object_type="assist_handoff",
            object_id=handoff.id,
            payload={"conversation_id": cid, "message_id": message_id, "reason": handoff.reason},
        )
    return Recorded(conversation, message_id, reply_id, handoff)


def staff_reply(
    session: Session,
    vault: Vault,
    audit_key: bytes,
    *,
    conversation_id: str,
    text: str,
    redacted: dict[str, int],
    actor: str,
) -> Message:
    """Store a member of staff's reply (already redacted) in a conversation (audited).

    Raises
    ------
    ValidationError
        For an empty text.
    NotFound
        For an unknown conversation.
    """
    if not text.strip():
        raise ValidationError("text is empty", field="text")
    row = session.get(AssistConversationRow, conversation_id)
    if row is None:
        raise NotFound(f"no conversation {conversation_id!r}", field="conversation_id")
    now = utcnow()
    message = AssistMessageRow(
        id=_new_id(),
        conversation_id=row.id,
        created_at=now,
        sender="staff",
        channel=STAFF,
        sealed=_seal(session, vault, row.id, text),
        redacted=dict(redacted),
        sources=[],
        actor=actor,
    )
    session.add(message)
    row.updated_at = now
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="assist.staff_reply",
        object_type="assist_conversation",
        object_id=row.id,
        payload={"message_id": message.id, "redacted": dict(sorted(redacted.items()))},
    )
    return _message_view(message, text)


def _message_view(row: AssistMessageRow, text: str | None) -> Message:
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        created_at=row.created_at,
        sender=row.sender,
        channel=row.channel,
        text=text,
        redacted=dict(row.redacted or {}),
        language=row.language,
        intent=row.intent,
        confidence=row.confidence,
        action=row.action,
        sentiment=row.sentiment,
        sentiment_score=row.sentiment_score,
        sources=list(row.sources or []),
    )


def read_conversation(
    session: Session,
    vault: Vault,
    audit_key: bytes,
    conversation_id: str,
    *,
    actor: str,
    limit: int = 500,
) -> tuple[Conversation, list[Message]]:
    """Open a conversation for staff: its messages, oldest first, unsealed (audited).

    Messages of an erased conversation come back with ``text`` None. The caller
    commits (the audit entry).

    Raises
    ------
    NotFound
        For an unknown conversation.
    """
    conversation = get_conversation(session, conversation_id)
    rows = session.scalars(
        select(AssistMessageRow)
        .where(AssistMessageRow.conversation_id == conversation_id)
        .order_by(AssistMessageRow.created_at, AssistMessageRow.id)
        .limit(_page(limit, 0)[0])
    ).all()
    messages = []
    for row in rows:
        try:
            text: str | None = str(vault.open(session, row.sealed, purpose=PURPOSE)["text"])
        except Erased:
            text = None
        messages.append(_message_view(row, text))
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="assist.conversation.read",
        object_type="assist_conversation",
        object_id=conversation_id,
        payload={"messages": len(messages)},
    )
    return conversation, messages


def list_handoffs(
    session: Session, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[Handoff]:
    """Return handoffs, oldest first (the queue's order), optionally of one ``status``.

    Raises
    ------
    ValidationError
        For an unknown ``status`` or a bad page.
    """
    limit, offset = _page(limit, offset)
    query = (
        select(AssistHandoffRow)
        .order_by(AssistHandoffRow.created_at, AssistHandoffRow.id)
        .limit(limit)
        .offset(offset)
    )
    if status is not None:
        query = query.where(AssistHandoffRow.status == _choice(status, HANDOFF_STATUSES, "status"))
    return [_handoff_view(row) for row in session.scalars(query)]


def waiting_handoff(session: Session, conversation_id: str) -> Handoff | None:
    """Return the newest unresolved handoff of a conversation, or None."""
    row = session.scalar(
        select(AssistHandoffRow)
        .where(
            AssistHandoffRow.conversation_id == conversation_id,
            AssistHandoffRow.status != "resolved",
        )
        .order_by(AssistHandoffRow.created_at.desc(), AssistHandoffRow.id)
        .limit(1)
    )
    return None if row is None else _handoff_view(row)


def count_handoffs(session: Session, *, status: str | None = None) -> int:
    """Return how many handoffs there are, optionally of one ``status``."""
    query = select(func.count()).select_from(AssistHandoffRow)
    if status is not None:
        query = query.where(AssistHandoffRow.status == _choice(status, HANDOFF_STATUSES, "status"))
    return int(session.scalar(query) or 0)


def get_handoff(session: Session, handoff_id: str) -> Handoff:
    """Return one handoff.

    Raises
    ------
    NotFound
        For an unknown id.
    """
    row = session.get(AssistHandoffRow, handoff_id)
    if row is None:
        raise NotFound(f"no handoff {handoff_id!r}", field="handoff_id")
    return _handoff_view(row)


def _unresolved(session: Session, handoff_id: str, **values: Any) -> AssistHandoffRow:
    """Update a handoff unless resolved, in one statement: two resolvers cannot both win."""
    row = session.scalars(
        update(AssistHandoffRow)
        .where(AssistHandoffRow.id == handoff_id, AssistHandoffRow.status != "resolved")
        .values(**values)
        .returning(AssistHandoffRow)
    ).one_or_none()
    if row is None:
        get_handoff(session, handoff_id)
        raise Conflict(f"handoff {handoff_id!r} is already resolved", field="handoff_id")
    return row


def assign_handoff(
    session: Session, audit_key: bytes, handoff_id: str, *, assignee: str, actor: str
) -> Handoff:
    """Give a handoff to a member of staff (audited).

    Raises
    ------
    ValidationError
        For an empty or over-long ``assignee``.
    NotFound
        For an unknown handoff.
    Conflict
        When it is resolved already.
    """
    if not assignee.strip() or len(assignee) > MAX_ASSIGNEE:
        raise ValidationError(f"assignee must be 1 to {MAX_ASSIGNEE} characters", field="assignee")
    row = _unresolved(session, handoff_id, status="assigned", assignee=assignee)
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="assist.handoff.assign",
        object_type="assist_handoff",
        object_id=handoff_id,
        payload={"assignee": assignee, "conversation_id": row.conversation_id},
    )
    return _handoff_view(row)


def resolve_handoff(session: Session, audit_key: bytes, handoff_id: str, *, actor: str) -> Handoff:
    """Close a handoff (audited); with none left open the assistant answers again.

    Raises
    ------
    NotFound
        For an unknown handoff.
    Conflict
        When it is resolved already.
    """
    now = utcnow()
    row = _unresolved(session, handoff_id, status="resolved", resolved_at=now, resolved_by=actor)
    left = session.scalar(
        select(func.count())
        .select_from(AssistHandoffRow)
        .where(
            AssistHandoffRow.conversation_id == row.conversation_id,
            AssistHandoffRow.status != "resolved",
        )
    )
    if not left:
        session.execute(
            update(AssistConversationRow)
            .where(AssistConversationRow.id == row.conversation_id)
            .values(status=BOT, updated_at=now)
        )
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="assist.handoff.resolve",
        object_type="assist_handoff",
        object_id=handoff_id,
        payload={"conversation_id": row.conversation_id},
    )
    return _handoff_view(row)


def daily_stats(session: Session, *, days: int = 30) -> list[DayStats]:
    """Count customer messages per UTC day by intent, with their mean sentiment.

    Returns
    -------
    list of DayStats
        One per day, oldest first, ending today (UTC); days without messages count 0.

    Raises
    ------
    ValidationError
        For ``days`` below 1.
    """
    if days < 1:
        raise ValidationError("days must be a whole number >= 1", field="days")
    first = utcnow().date() - timedelta(days=days - 1)
    start = datetime.combine(first, time(), tzinfo=UTC)
    messages: dict[date, list[Any]] = {
        first + timedelta(days=i): [0, {}, 0.0, 0] for i in range(days)
    }
    rows = session.execute(
        select(
            AssistMessageRow.created_at,
            AssistMessageRow.intent,
            AssistMessageRow.sentiment_score,
        ).where(AssistMessageRow.sender == "customer", AssistMessageRow.created_at >= start)
    )
    for created_at, intent, score in rows:
        day = messages.get(created_at.date())
        if day is None:
            continue
        day[0] += 1
        name = intent or "-"
        day[1][name] = day[1].get(name, 0) + 1
        if score is not None:
            day[2] += score
            day[3] += 1
    handoffs: dict[date, int] = {}
    for (created_at,) in session.execute(
        select(AssistHandoffRow.created_at).where(AssistHandoffRow.created_at >= start)
    ):
        handoffs[created_at.date()] = handoffs.get(created_at.date(), 0) + 1
    return [
        DayStats(
            day=day,
            messages=count,
            handoffs=handoffs.get(day, 0),
            intents=intents,
            sentiment=(total / scored) if scored else None,
        )
        for day, (count, intents, total, scored) in messages.items()
    ]
