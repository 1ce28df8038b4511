"""The customer-service assistant over HTTP: messages, audio, the handoff queue, the KB."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile

from finai.api.assist_schemas import (
    ConversationId,
    ConversationPublic,
    EntriesPublic,
    EntryPublic,
    HandoffAssign,
    HandoffPublic,
    HandoffsPublic,
    MessageCreate,
    MessagePublic,
    ReplyPublic,
    StaffReplyCreate,
)
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api
from finai.api.idempotent import IdempotencyKey, once
from finai.api.schemas import RECORD_ID
from finai.assist import pipeline, records
from finai.exceptions import ValidationError

router = APIRouter(prefix="/v1/assist", dependencies=[Depends(authorize_api)], tags=["assist"])

HexId = Annotated[str, Path(pattern=RECORD_ID)]
KB_SUFFIXES = (".md", ".markdown", ".csv")


def assistants_of(request: Request) -> pipeline.Assistants:
    """Return the app's assistants (models and index loaded once per process)."""
    found: pipeline.Assistants = request.app.state.assistants
    return found


AssistantsDep = Annotated[pipeline.Assistants, Depends(assistants_of)]


@router.post("/messages", response_model=ReplyPublic)
def send_message(
    body: MessageCreate,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    assistants: AssistantsDep,
    idempotency_key: IdempotencyKey = None,
) -> ReplyPublic | Response:
    """Send a customer's message: intent, sentiment, and an answer with its source or a handoff.

    Personal data (card numbers, IBANs, account numbers, e-mail addresses, phone numbers,
    national ids) is replaced by placeholders first; only the redacted text is stored,
    sealed under the conversation's data key. Without `conversation_id` a conversation is
    opened. While a conversation is with staff the assistant does not answer (`action`
    is `handoff`). Refused (422, nothing stored): an empty or over-long text, or one in
    an unsupported language. An `Idempotency-Key` makes a retry return the first answer.
    """

    def work() -> ReplyPublic:
        reply = pipeline.send_message(
            session,
            platform.vault,
            platform.audit_key,
            assistants.get(session),
            text=body.text,
            conversation_id=body.conversation_id,
            owner=key.id,
            actor=key.id,
        )
        return ReplyPublic.from_domain(reply)

    return once(
        session,
        key_id=key.id,
        idempotency_key=idempotency_key,
        route="assist.messages",
        request=body,
        status=200,
        work=work,
        vault=platform.vault,
        subject=body.conversation_id,
    )


@router.post("/audio")
def send_audio(
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    assistants: AssistantsDep,
    file: Annotated[UploadFile, File(description="a WAV, MP3 or OGG recording")],
    conversation_id: Annotated[ConversationId | None, Form()] = None,
) -> ReplyPublic:
    """Send a spoken message: transcribed offline, then handled as a text message.

    The answer also carries the transcript (redacted). Refused (422, nothing stored):
    audio that is too large, empty, corrupt, of an unsupported format, too long or
    silent, and what a text message would be refused for.
    """
    limit = platform.settings.assist_audio_max_bytes
    data = file.file.read(limit + 1)
    try:
        reply = pipeline.send_audio(
            session,
            platform.vault,
            platform.audit_key,
            assistants.get(session),
            data=data,
            filename=file.filename or "",
            max_bytes=limit,
            conversation_id=conversation_id,
            owner=key.id,
            actor=key.id,
        )
    except ValidationError as exc:
        if exc.field != "audio":
            raise
        raise ValidationError(str(exc), field="file") from None  # the form field's name
    session.commit()
    return ReplyPublic.from_domain(reply)


@router.get("/handoffs")
def list_handoffs(
    session: SessionDep,
    status: Literal["open", "assigned", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HandoffsPublic:
    """List handoffs to staff, oldest first (the order to work them), optionally by status."""
    data = [
        HandoffPublic.from_domain(h)
        for h in records.list_handoffs(session, status=status, limit=limit, offset=offset)
    ]
    return HandoffsPublic(
        data=data, count=len(data), total=records.count_handoffs(session, status=status)
    )


@router.post("/handoffs/{handoff_id}/assign")
def assign_handoff(
    handoff_id: HexId,
    body: HandoffAssign,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
) -> HandoffPublic:
    """Take a handoff (or give it to `assignee`); audited. A resolved one cannot be taken."""
    handoff = records.assign_handoff(
        session, platform.audit_key, handoff_id, assignee=body.assignee or key.name, actor=key.id
    )
    session.commit()
    return HandoffPublic.from_domain(handoff)


@router.post("/handoffs/{handoff_id}/resolve")
def resolve_handoff(
    handoff_id: HexId, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> HandoffPublic:
    """Close a handoff (audited); with none left open, the assistant answers the conversation."""
    handoff = records.resolve_handoff(session, platform.audit_key, handoff_id, actor=key.id)
    session.commit()
    return HandoffPublic.from_domain(handoff)


@router.get("/conversations/{conversation_id}")
def read_conversation(
    conversation_id: HexId, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> ConversationPublic:
    """Open a conversation for staff: every message (redacted), oldest first; audited."""
    conversation, messages = records.read_conversation(
        session, platform.vault, platform.audit_key, conversation_id, actor=key.id
    )
    waiting = records.waiting_handoff(session, conversation_id)
    session.commit()
    return ConversationPublic(
        id=conversation.id,
        status=conversation.status,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        handoff=None if waiting is None else HandoffPublic.from_domain(waiting),
        messages=[MessagePublic.from_domain(m) for m in messages],
    )


@router.post("/conversations/{conversation_id}/replies", status_code=201)
def reply_as_staff(
    conversation_id: HexId,
    body: StaffReplyCreate,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    assistants: AssistantsDep,
) -> MessagePublic:
    """Reply to the customer as staff (redacted like their messages, sealed, audited)."""
    message = pipeline.reply_as_staff(
        session,
        platform.vault,
        platform.audit_key,
        assistants,
        conversation_id=conversation_id,
        text=body.text,
        actor=key.id,
    )
    session.commit()
    return MessagePublic.from_domain(message)


@router.get("/kb")
def list_entries(session: SessionDep) -> EntriesPublic:
    """List the knowledge base: the current version of every entry."""
    from finai.assist import kb_store

    data = [
        EntryPublic(
            key=e.key,
            version=e.version,
            title=e.title,
            body=e.body,
            source=e.source,
            intents=list(e.intents),
        )
        for e in kb_store.current_entries(session)
    ]
    return EntriesPublic(data=data, count=len(data))


@router.post("/kb", status_code=201)
def add_entries(
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    file: Annotated[UploadFile, File(description="Markdown (.md) or CSV entries")],
) -> EntriesPublic:
    """Upload FAQ entries or policy passages: new keys get version 1, changed ones a new version.

    Answers the current version of every entry in the file (unchanged ones are kept
    as they are). Refused (422, nothing stored): a file that
    is not Markdown or CSV, or cannot be read as entries.
    """
    filename = file.filename or ""
    if not filename.lower().endswith(KB_SUFFIXES):
        raise ValidationError("upload a Markdown (.md) or CSV (.csv) file", field="file")
    stored = pipeline.add_knowledge(
        session, platform.audit_key, data=file.file.read(), filename=filename, actor=key.id
    )
    session.commit()
    data = [
        EntryPublic(
            key=e.key,
            version=e.version,
            title=e.title,
            body=e.body,
            source=e.source,
            intents=list(e.intents),
        )
        for e in stored
    ]
    return EntriesPublic(data=data, count=len(data))
