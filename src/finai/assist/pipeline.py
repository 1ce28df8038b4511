"""The assistant's use cases the faces call, and the models a service keeps between requests.

:class:`Assistants` holds what is heavy: the intent model (loaded once per version, its
champion re-resolved every couple of seconds, :class:`finai.registry.ModelCache`), the
knowledge-base index (rebuilt only when the stored entries change) and the sentiment
analyzer (made once). A request then costs a redaction, a language check, one intent
prediction, one sentiment prediction, one index search and the storage of two sealed
messages with their audit entries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finai import registry
from finai.assist import kb_store, records
from finai.assist.assistant import Assistant, KnowledgeSearch, Turn
from finai.assist.intents import IntentModel, load_model
from finai.assist.knowledge import RELEVANCE_THRESHOLD, Entry, Hit, KnowledgeIndex, parse_entries
from finai.assist.translate import Translator, translator_for
from finai.exceptions import NotFound, ValidationError
from finai.security.vault import Vault
from finai.store import KnowledgeEntryRow

if TYPE_CHECKING:
    from finai.assist.redact import Redaction
    from finai.assist.sentiment import SentimentAnalyzer
    from finai.config import Settings

__all__ = [
    "Assistants",
    "Reply",
    "add_knowledge",
    "reply_as_staff",
    "send_audio",
    "send_message",
]


@dataclass(frozen=True)
class Reply:
    """The answer to one customer message, as the faces show it.

    Attributes
    ----------
    turn
        What the assistant made of the message (redacted text, intent, action, ...).
    handoff
        The handoff this message opened, or the one the conversation is already in.
    transcript
        For an audio message, what was heard (redacted).
    """

    conversation_id: str
    message_id: str
    turn: Turn
    handoff: records.Handoff | None
    transcript: str | None = None


class _NoKnowledge:
    """The index of an empty knowledge base: nothing is ever relevant."""

    def search(self, query: str, *, intent: str | None = None, k: int = 3) -> list[Hit]:
        return []


def _kb_state(session: Session, _name: str) -> tuple[int, int]:
    """How many entry versions are stored and the newest's id: changes when entries do."""
    count, newest = session.execute(
        select(func.count(KnowledgeEntryRow.id), func.max(KnowledgeEntryRow.id))
    ).one()
    return int(count or 0), int(newest or 0)


class Assistants:
    """The process's :class:`~finai.assist.assistant.Assistant`, kept current and cheap.

    Parameters
    ----------
    artifact_dir
        Where the registry keeps artifacts.
    intent_model
        Name of the registered intent model (its champion, else its newest version).
    max_chars, negative_threshold, relevance_threshold
        As :class:`~finai.assist.assistant.Assistant`; ``relevance_threshold`` None
        takes the knowledge module's default.
    refresh
        How long a resolved champion and the knowledge base's state are trusted.
    sentiment, redact, language, index
        Replacements of the real analyzer, redactor, language check and index
        factory (tests); by default the ``finai.assist`` ones, loaded on first use.
    translator
        Reads messages in unsupported languages (``FINAI_TRANSLATE_URL``); None
        refuses them.
    """

    def __init__(
        self,
        artifact_dir: Path,
        *,
        intent_model: str,
        max_chars: int = 2000,
        negative_threshold: float = -0.5,
        relevance_threshold: float | None = None,
        refresh: timedelta = timedelta(seconds=2),
        sentiment: SentimentAnalyzer | None = None,
        redact: Callable[[str], Redaction] | None = None,
        language: Callable[[str], str] | None = None,
        index: Callable[[Sequence[Entry]], KnowledgeSearch] | None = None,
        translator: Translator | None = None,
    ) -> None:
        self.artifact_dir = artifact_dir
        self.intent_model = intent_model
        self.max_chars = max_chars
        self.negative_threshold = negative_threshold
        self.relevance_threshold = relevance_threshold
        self._sentiment = sentiment
        self._redact = redact
        self._language = language
        self._index = index
        self.translator = translator
        self._lock = threading.Lock()
        self._models: registry.ModelCache[IntentModel] = registry.ModelCache(
            self._load_intents, refresh=refresh
        )
        self._kb_states: registry.Refreshed[tuple[int, int]] = registry.Refreshed(
            _kb_state, refresh=refresh
        )
        self._knowledge: tuple[tuple[int, int], KnowledgeSearch] | None = None

    def _load_intents(self, session: Session, name: str, version: int) -> IntentModel:
        return load_model(session, self.artifact_dir, f"{name}:{version}")[1]

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Assistants:
        """Build the cache from ``FINAI_ASSIST_*`` settings."""
        return cls(
            settings.artifact_dir,
            intent_model=settings.assist_intent_model,
            max_chars=settings.assist_max_chars,
            negative_threshold=settings.assist_negative_threshold,
            relevance_threshold=settings.assist_relevance_threshold,
            translator=translator_for(
                settings.translate_url,
                None
                if settings.translate_api_key is None
                else settings.translate_api_key.get_secret_value(),
            ),
            **kwargs,
        )

    def get(self, session: Session) -> Assistant:
        """Return an assistant with the intent champion and the knowledge base of now.

        Without a registered intent model the assistant answers from the knowledge base
        alone (see :class:`~finai.assist.assistant.Assistant`).
        """
        try:
            intents: IntentModel | None = self._models.get(session, self.intent_model)
        except NotFound:
            intents = None
        threshold = self.relevance_threshold
        return Assistant(
            intents=intents,
            sentiment=self.sentiment(),
            knowledge=self.knowledge(session),
            redact=self.redactor(),
            language=self.language_check(),
            translator=self.translator,
            max_chars=self.max_chars,
            negative_threshold=self.negative_threshold,
            relevance_threshold=RELEVANCE_THRESHOLD if threshold is None else threshold,
        )

    def sentiment(self) -> SentimentAnalyzer:
        """Return the customer-message sentiment analyzer (made on first use)."""
        with self._lock:
            if self._sentiment is None:
                from finai.assist.sentiment import customer_sentiment

                self._sentiment = customer_sentiment()
            return self._sentiment

    def redactor(self) -> Callable[[str], Redaction]:
        """Return the redaction function."""
        if self._redact is None:
            from finai.assist.redact import redact

            self._redact = redact
        return self._redact

    def language_check(self) -> Callable[[str], str]:
        """Return the language check."""
        if self._language is None:
            from finai.assist.language import require_supported

            self._language = require_supported
        return self._language

    def knowledge(self, session: Session) -> KnowledgeSearch:
        """Return the index of the stored entries, rebuilt when they have changed."""
        state = self._kb_states.get(session, "kb")
        kept = self._knowledge
        if kept is not None and kept[0] == state:
            return kept[1]
        entries = kb_store.current_entries(session)
        index = self._make_index(entries) if entries else _NoKnowledge()
        self._knowledge = (state, index)
        return index

    def _make_index(self, entries: Sequence[Entry]) -> KnowledgeSearch:
        if self._index is not None:
            return self._index(entries)
        return KnowledgeIndex(entries)

    def warm(self, session: Session) -> None:
        """Load everything a first message needs, so it is answered as fast as the rest."""
        assistant = self.get(session)
        assistant.understand("What is my card's balance?")

    def clear(self) -> None:
        """Forget the loaded models and index (after a restore, in tests)."""
        self._models.clear()
        self._kb_states.clear()
        self._knowledge = None


def _handoff_of(session: Session, recorded: records.Recorded) -> records.Handoff | None:
    if recorded.handoff is not None or recorded.conversation.status != "staff":
        return recorded.handoff
    return records.waiting_handoff(session, recorded.conversation.id)


def send_message(
    session: Session,
    vault: Vault,
    audit_key: bytes,
    assistant: Assistant,
    *,
    text: str,
    conversation_id: str | None,
    owner: str,
    actor: str,
    channel: str = "text",
) -> Reply:
    """Handle one customer message: read it, decide, store it sealed and audited.

    The caller commits. Nothing is stored when the message is refused.

    Raises
    ------
    ValidationError
        ``field="text"``: empty, too long or in an unsupported language.
    NotFound
        For an unknown conversation, or another key's.
    """
    with_staff = False
    if conversation_id is not None:
        conversation = records.get_conversation(session, conversation_id, owner=owner)
        with_staff = conversation.status == "staff"
    turn = assistant.understand(text, with_staff=with_staff)
    recorded = records.record_turn(
        session,
        vault,
        audit_key,
        turn=turn,
        conversation_id=conversation_id,
        owner=owner,
        channel=channel,
        actor=actor,
    )
    return Reply(
        conversation_id=recorded.conversation.id,
        message_id=recorded.message_id,
        turn=turn,
        handoff=_handoff_of(session, recorded),
    )


def send_audio(
    session: Session,
    vault: Vault,
    audit_key: bytes,
    assistant: Assistant,
    *,
    data: bytes,
    filename: str,
    max_bytes: int,
    conversation_id: str | None,
    owner: str,
    actor: str,
) -> Reply:
    """Transcribe an audio message offline, then handle it as text (see :func:`send_message`).

    Raises
    ------
    ValidationError
        ``field="audio"``: too large, empty, corrupt, unsupported, too long or silent;
        ``field="text"``: what was heard is refused as a text would be.
    """
    from finai.assist.speech import transcribe

    if len(data) > max_bytes:
        raise ValidationError(f"audio is larger than {max_bytes} bytes", field="audio")
    heard = transcribe(data, filename)
    if not heard.text.strip():
        raise ValidationError("no speech was heard in the audio", field="audio")
    reply = send_message(
        session,
        vault,
        audit_key,
        assistant,
        text=heard.text,
        conversation_id=conversation_id,
        owner=owner,
        actor=actor,
        channel="audio",
    )
    return replace(reply, transcript=reply.turn.text)


def reply_as_staff(
    session: Session,
    vault: Vault,
    audit_key: bytes,
    assistants: Assistants,
    *,
    conversation_id: str,
    text: str,
    actor: str,
) -> records.Message:
    """Store a member of staff's reply, redacted like a customer's message (audited).

    Raises
    ------
    ValidationError
        ``field="text"``: empty or longer than the assistant's limit.
    NotFound
        For an unknown conversation.
    """
    stripped = text.strip()
    if not stripped:
        raise ValidationError("text is empty", field="text")
    if len(stripped) > assistants.max_chars:
        raise ValidationError(
            f"text is longer than {assistants.max_chars} characters", field="text"
        )
    redaction = assistants.redactor()(stripped)
    return records.staff_reply(
        session,
        vault,
        audit_key,
        conversation_id=conversation_id,
        text=redaction.text,
        redacted=dict(redaction.found),
        actor=actor,
    )


def add_knowledge(
    session: Session, audit_key: bytes, *, data: bytes, filename: str, actor: str
) -> list[Entry]:
    """Parse a Markdown or CSV file and store its entries as new versions (audited).

    The caller commits. Nothing is stored when the file is refused.

    Raises
    ------
    ValidationError
        For a file that cannot be read as entries.
    """
    return kb_store.add_entries(session, audit_key, parse_entries(data, filename), actor=actor)
