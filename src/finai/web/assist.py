"""The Assist pages: the live handoff queue, conversations, intents and sentiment, the KB.

The page shows the handoffs waiting for staff (the queue refreshes itself every few
seconds from a fragment of its own), customer messages per day by intent, their mean
sentiment and the handoffs opened each day, and the knowledge base with its versions.
Admins and analysts take and resolve handoffs, reply in a conversation, and add or edit
knowledge-base entries: an edit stores a new version, the old one stays readable. A
conversation's page opens its messages (redacted, and audited as a reading).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from finai.api.deps import PlatformDep, SessionDep
from finai.api.schemas import RECORD_ID
from finai.assist import pipeline, records
from finai.exceptions import FinAIError, ValidationError
from finai.store import KnowledgeEntryRow
from finai.web import charts
from finai.web.auth import ViewerDep
from finai.web.credit import FormDep
from finai.web.render import redirect, render
from finai.web.routing import WebRoute
from finai.web.session import Flash

router = APIRouter(route_class=WebRoute, include_in_schema=False)

HexId = Annotated[str, Path(pattern=RECORD_ID)]
ASSIGN = ("POST", "/assist/handoffs/{handoff_id}/assign")
RESOLVE = ("POST", "/assist/handoffs/{handoff_id}/resolve")
REPLY = ("POST", "/assist/conversations/{conversation_id}/reply")
KB_WRITE = ("POST", "/assist/kb")
QUEUE_LIMIT = 100
STATS_DAYS = 30
REFRESH_SECONDS = 5
MAX_KB_FIELD = 20_000


@dataclass(frozen=True)
class KbEntry:
    """A knowledge-base entry as the editor lists it: its newest version and how many."""

    key: str
    version: int
    title: str
    body: str
    intents: list[str]
    versions: int


def _queue(session: Session) -> list[records.Handoff]:
    waiting = records.list_handoffs(session, status="open", limit=QUEUE_LIMIT)
    return waiting + records.list_handoffs(session, status="assigned", limit=QUEUE_LIMIT)


def _queue_context(session: Session, viewer: Any) -> dict[str, Any]:
    return {
        "handoffs": _queue(session)[:QUEUE_LIMIT],
        "open_count": records.count_handoffs(session, status="open"),
        "assigned_count": records.count_handoffs(session, status="assigned"),
        "can_assign": viewer.may(*ASSIGN),
        "can_resolve": viewer.may(*RESOLVE),
    }


def kb_entries(session: Session) -> list[KbEntry]:
    """List every knowledge-base key with its newest version and its number of versions."""
    newest: dict[str, KnowledgeEntryRow] = {}
    counts: dict[str, int] = {}
    for row in session.scalars(select(KnowledgeEntryRow).order_by(KnowledgeEntryRow.version)):
        newest[row.key] = row
        counts[row.key] = counts.get(row.key, 0) + 1
    return [
        KbEntry(row.key, row.version, row.title, row.body, list(row.intents), counts[key])
        for key, row in sorted(newest.items())
    ]


@router.get("/assist")
def assist_page(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """Show the handoff queue, intents and sentiment over time, and the knowledge base."""
    days = records.daily_stats(session, days=STATS_DAYS)
    figures = []
    if any(d.messages for d in days):
        figures = [charts.intents_chart(days), charts.sentiment_chart(days)]
    context = {
        **_queue_context(session, viewer),
        "charts": figures,
        "days": STATS_DAYS,
        "messages_today": days[-1].messages,
        "handoffs_today": days[-1].handoffs,
        "entries": kb_entries(session),
        "can_edit": viewer.may(*KB_WRITE),
        "refresh_ms": REFRESH_SECONDS * 1000,
        "uses_charts": bool(figures),
    }
    return render(request, "assist.html", context, viewer=viewer)


@router.get("/assist/queue")
def assist_queue(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """Render the queue alone, as an HTML fragment: what the page reloads every few seconds."""
    return render(request, "assist_queue.html", _queue_context(session, viewer), viewer=viewer)


@router.get("/assist/conversations/{conversation_id}")
def conversation_page(
    request: Request,
    conversation_id: HexId,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
) -> Response:
    """Open a conversation: its messages (redacted) and its handoff; audited as a reading."""
    conversation, messages = records.read_conversation(
        session, platform.vault, platform.audit_key, conversation_id, actor=viewer.key.id
    )
    waiting = records.waiting_handoff(session, conversation_id)
    session.commit()
    context = {
        "conversation": conversation,
        "conversation_messages": messages,
        "handoff": waiting,
        "can_assign": viewer.may(*ASSIGN),
        "can_resolve": viewer.may(*RESOLVE),
        "can_reply": viewer.may(*REPLY),
    }
    return render(request, "assist_conversation.html", context, viewer=viewer)


def _back(form: dict[str, str], conversation_id: str | None) -> str:
    if form.get("back") == "conversation" and conversation_id:
        return f"/assist/conversations/{conversation_id}"
    return "/assist#queue"


@router.post("/assist/handoffs/{handoff_id}/assign")
def assign(
    request: Request,
    handoff_id: HexId,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    form: FormDep,
) -> Response:
    """Take a handoff (audited)."""
    try:
        handoff = records.assign_handoff(
            session, platform.audit_key, handoff_id, assignee=viewer.key.name, actor=viewer.key.id
        )
        session.commit()
    except FinAIError as exc:
        session.rollback()
        return redirect(request, _back(form, None), Flash("error", str(exc)))
    done = Flash("ok", f"Handoff {handoff.id[:8]} assigned to {handoff.assignee}.")
    return redirect(request, _back(form, handoff.conversation_id), done)


@router.post("/assist/handoffs/{handoff_id}/resolve")
def resolve(
    request: Request,
    handoff_id: HexId,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    form: FormDep,
) -> Response:
    """Close a handoff (audited); the assistant answers the conversation again."""
    try:
        handoff = records.resolve_handoff(
            session, platform.audit_key, handoff_id, actor=viewer.key.id
        )
        session.commit()
    except FinAIError as exc:
        session.rollback()
        return redirect(request, _back(form, None), Flash("error", str(exc)))
    done = Flash("ok", f"Handoff {handoff.id[:8]} resolved.")
    return redirect(request, _back(form, handoff.conversation_id), done)


@router.post("/assist/conversations/{conversation_id}/reply")
def reply(
    request: Request,
    conversation_id: HexId,
    session: SessionDep,
    platform: PlatformDep,
    viewer: ViewerDep,
    form: FormDep,
) -> Response:
    """Reply to the customer (redacted, sealed, audited)."""
    assistants: pipeline.Assistants = request.app.state.assistants
    back = f"/assist/conversations/{conversation_id}"
    try:
        pipeline.reply_as_staff(
            session,
            platform.vault,
            platform.audit_key,
            assistants,
            conversation_id=conversation_id,
            text=form.get("text", ""),
            actor=viewer.key.id,
        )
        session.commit()
    except FinAIError as exc:
        session.rollback()
        return redirect(request, back, Flash("error", str(exc)))
    return redirect(request, back, Flash("ok", "Reply sent."))


def entry_file(form: dict[str, str]) -> bytes:
    """Write the editor's fields as a one-row CSV upload, the format staff upload too.

    Raises
    ------
    ValidationError
        For a missing key, title or text, or an over-long field.
    """
    values = {name: form.get(name, "").strip() for name in ("key", "title", "body", "intents")}
    for name in ("key", "title", "body"):
        if not values[name]:
            raise ValidationError(f"{name} is required", field=name)
    if any(len(v) > MAX_KB_FIELD for v in values.values()):
        raise ValidationError(f"fields are limited to {MAX_KB_FIELD} characters", field="body")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["key", "title", "body", "intents"])
    writer.writerow([values["key"], values["title"], values["body"], values["intents"]])
    return buffer.getvalue().encode()


@router.post("/assist/kb")
def save_entry(
    request: Request, session: SessionDep, platform: PlatformDep, viewer: ViewerDep, form: FormDep
) -> Response:
    """Add an entry or edit one: a changed entry gets a new version, the old one is kept."""
    try:
        stored = pipeline.add_knowledge(
            session,
            platform.audit_key,
            data=entry_file(form),
            filename="dashboard.csv",
            actor=viewer.key.id,
        )
        session.commit()
    except FinAIError as exc:
        session.rollback()
        return redirect(request, "/assist#kb", Flash("error", str(exc)))
    entry = stored[0]
    return redirect(
        request, "/assist#kb", Flash("ok", f"Saved {entry.key} as version {entry.version}.")
    )
