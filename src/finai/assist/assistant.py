"""What the assistant makes of one customer message, before anything is stored.

The order is the rule: the text is checked (not empty, not too long), then redacted, and
only the redacted text goes on — to the language check, the intent model, the sentiment
analyzer, the knowledge base, and later to storage. The decision:

* a customer who asks for a person gets one (``customer_asked``);
* an intent the model sends to a person (out of scope) is handed off (``out_of_scope``);
* an intent the model is unsure of gets a request to rephrase (``clarify``);
* otherwise the best knowledge-base entry for the message (and its intent) is quoted with
  its key and version when it clears the relevance threshold, and below it the assistant
  says it does not know and hands off (``no_answer``) — it never makes an answer up;
* a clearly negative message is handed to a person too (``negative_sentiment``), even
  when it was answered.

While a conversation is with staff (an unresolved handoff), the assistant does not
answer: the message is still classified, for the staff's view, and they reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from finai.assist.language import DEFAULT_LANGUAGE, detect
from finai.exceptions import ValidationError

if TYPE_CHECKING:
    from finai.assist.intents import IntentPrediction
    from finai.assist.knowledge import Hit
    from finai.assist.redact import Redaction
    from finai.assist.sentiment import SentimentAnalyzer
    from finai.assist.translate import Translator

__all__ = [
    "ACTIONS",
    "HANDOFF_REASONS",
    "Assistant",
    "IntentClassifier",
    "KnowledgeSearch",
    "Source",
    "Turn",
    "asks_for_person",
]

ACTIONS = ("answer", "clarify", "handoff")
HANDOFF_REASONS = ("out_of_scope", "no_answer", "negative_sentiment", "customer_asked")

CLARIFY_TEXT = (
    "Sorry, I am not sure I understood. Could you tell me again in other words what you need?"
)
HANDOFF_TEXT = {
    "out_of_scope": "That is something I cannot help with, so I am passing you to a member"
    " of our team, who will reply here.",
    "no_answer": "I don't know the answer to that, so I am passing you to a member of our"
    " team, who will reply here.",
    "negative_sentiment": "I am sorry this has been frustrating. A member of our team will"
    " look at your conversation and reply here.",
    "customer_asked": "Of course: I am passing you to a member of our team, who will reply here.",
}
WITH_STAFF_TEXT = "A member of our team has your conversation and will reply here."

_PERSON = (
    r"(?:human|person|agent|advis[eo]r|representative|operator|someone|somebody|staff"
    r"|banker|manager)"
)
_ASKS_FOR_PERSON = re.compile(
    r"\b(?:speak|talk|chat)\s+(?:to|with)\s+(?:a\s+|an\s+|the\s+|your\s+)?(?:real\s+|live\s+)?"
    + _PERSON
    + r"\b|\b(?:real|live)\s+(?:person|human|agent)\b|\bhuman\s+(?:agent|being)\b",
    re.IGNORECASE,
)


def asks_for_person(text: str) -> bool:
    """Tell whether the customer asks to speak with a person ("talk to a human", ...)."""
    return _ASKS_FOR_PERSON.search(text) is not None


class IntentClassifier(Protocol):
    """What the assistant needs of an intent model (:class:`finai.assist.IntentModel`)."""

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """Return one prediction per text."""
        ...


class KnowledgeSearch(Protocol):
    """What the assistant needs of a knowledge index (:class:`finai.assist.KnowledgeIndex`)."""

    def search(self, query: str, *, intent: str | None = None, k: int = 3) -> list[Hit]:
        """Return the best entries for ``query``, most relevant first."""
        ...


@dataclass(frozen=True)
class Source:
    """A knowledge-base entry an answer quotes, by key and version."""

    key: str
    version: int
    title: str
    score: float


@dataclass(frozen=True)
class Turn:
    """The assistant's reading of one message and what it says back.

    Attributes
    ----------
    text
        The message, redacted: the only form of it that goes further.
    redacted
        Placeholder kind (``"CARD"``, ``"EMAIL"``, ...) -> how many were replaced.
    language
        ISO 639-1 code the message is handled in.
    intent, confidence
        The intent model's best intent (None when out of scope or without a model) and
        its calibrated confidence.
    action
        ``"answer"``, ``"clarify"`` or ``"handoff"``.
    sentiment, sentiment_score
        ``"negative"``, ``"neutral"`` or ``"positive"``, and a score in [-1, 1].
    answer
        The quoted knowledge-base entry with its key and version, when answered.
    sources
        The entries quoted (empty unless answered).
    handoff_reason
        Why the conversation goes to a person now (one of :data:`HANDOFF_REASONS`), or
        None; an angry customer's answered message has both an answer and a reason.
    reply
        What the assistant says to the customer.
    """

    text: str
    redacted: dict[str, int]
    language: str
    intent: str | None
    confidence: float
    action: str
    sentiment: str
    sentiment_score: float
    answer: str | None
    sources: tuple[Source, ...]
    handoff_reason: str | None
    reply: str
    top: tuple[tuple[str, float], ...] = field(default=())


def quote(hit: Hit) -> str:
    """Return an entry's text as the assistant gives it: verbatim, naming key and version."""
    entry = hit.entry
    return f"{entry.body.strip()}\n\n(Source: {entry.title}, {entry.key} version {entry.version})"


class Assistant:
    """Reads customer messages and decides: answer from the knowledge base, clarify, or hand off.

    Holds no state between messages (the conversation's state is stored, see
    :mod:`finai.assist.records`), so one instance serves every request of a process.

    Parameters
    ----------
    intents
        The intent model; None when none is registered yet (then every message is
        answered from the knowledge base when it can be, else handed off).
    sentiment
        The customer-message sentiment analyzer.
    knowledge
        The knowledge-base index.
    redact
        Replaces personal data with typed placeholders (:func:`finai.assist.redact`).
    language
        Returns the language of a text or raises ``ValidationError`` for an
        unsupported one (:func:`finai.assist.language.require_supported`).
    translator
        Translates a message in an unsupported language into English for the models
        (the redacted text only; the stored text stays the customer's own); without
        one such messages are refused.
    max_chars
        Longer messages are refused.
    negative_threshold
        A negative message with a sentiment score at or below this goes to a person.
    relevance_threshold
        The relevance in [0, 1] an entry needs to be given as an answer.
    k
        How many entries the knowledge base is asked for.
    """

    def __init__(
        self,
        *,
        intents: IntentClassifier | None,
        sentiment: SentimentAnalyzer,
        knowledge: KnowledgeSearch,
        redact: Callable[[str], Redaction],
        language: Callable[[str], str],
        translator: Translator | None = None,
        max_chars: int = 2000,
        negative_threshold: float = -0.5,
        relevance_threshold: float = 0.5,
        k: int = 3,
    ) -> None:
        self.intents = intents
        self.sentiment = sentiment
        self.knowledge = knowledge
        self.redact = redact
        self.language = language
        self.translator = translator
        self.max_chars = max_chars
        self.negative_threshold = negative_threshold
        self.relevance_threshold = relevance_threshold
        self.k = k

    def check(self, text: str) -> str:
        """Return ``text`` stripped, or refuse an empty or over-long one.

        Raises
        ------
        ValidationError
            ``field="text"``: empty (or only white space), or longer than ``max_chars``.
        """
        stripped = text.strip()
        if not stripped:
            raise ValidationError("text is empty", field="text")
        if len(stripped) > self.max_chars:
            raise ValidationError(f"text is longer than {self.max_chars} characters", field="text")
        return stripped

    def understand(self, text: str, *, with_staff: bool = False) -> Turn:
        """Read one message and decide what to say; nothing is stored here.

        Parameters
        ----------
        text
            The customer's message, as sent (it is redacted first thing).
        with_staff
            The conversation is with a person already: classify, but do not answer.

        Raises
        ------
        ValidationError
            ``field="text"``: empty, too long, or in an unsupported language.
        """
        redaction = self.redact(self.check(text))
        clean = redaction.text
        language, read = self._read(clean)
        prediction = self.intents.predict([read])[0] if self.intents is not None else None
        feeling = self.sentiment.predict([read])[0]
        sources: tuple[Source, ...] = ()
        if with_staff:
            action, answer, reason = "handoff", None, None
            reply = WITH_STAFF_TEXT
        else:
            action, answer, sources, reason = self._decide(read, prediction)
            angry = feeling.label == "negative" and feeling.score <= self.negative_threshold
            if reason is None and angry:
                reason = "negative_sentiment"
                action = "answer" if answer is not None else "handoff"
            reply = self._reply(answer, reason)
        return Turn(
            text=clean,
            redacted=dict(redaction.found),
            language=language,
            intent=prediction.intent if prediction is not None else None,
            confidence=float(prediction.confidence) if prediction is not None else 0.0,
            action=action,
            sentiment=feeling.label,
            sentiment_score=float(feeling.score),
            answer=answer,
            sources=sources,
            handoff_reason=reason,
            reply=reply,
            top=tuple(prediction.top) if prediction is not None else (),
        )

    def _read(self, clean: str) -> tuple[str, str]:
        """Return the message's language and the text the models read (English).

        Raises
        ------
        ValidationError
            An unsupported language and no translator to read it through.
        TranslationError
            The translation server failed.
        """
        try:
            return self.language(clean), clean
        except ValidationError:
            if self.translator is None:
                raise
        source, _ = detect(clean)
        return source, self.translator.translate(clean, source=source, target=DEFAULT_LANGUAGE)

    @staticmethod
    def _reply(answer: str | None, reason: str | None) -> str:
        """Return what the customer is told: the answer, and why a person takes over."""
        if answer is not None:
            return answer if reason is None else f"{answer}\n\n{HANDOFF_TEXT[reason]}"
        return CLARIFY_TEXT if reason is None else HANDOFF_TEXT[reason]

    def _decide(
        self, text: str, prediction: IntentPrediction | None
    ) -> tuple[str, str | None, tuple[Source, ...], str | None]:
        """Return the action, the answer, its sources and the handoff reason."""
        if asks_for_person(text):
            return "handoff", None, (), "customer_asked"
        if prediction is not None and prediction.action == "handoff":
            return "handoff", None, (), "out_of_scope"
        if prediction is not None and prediction.action == "clarify":
            return "clarify", None, (), None
        intent = prediction.intent if prediction is not None else None
        hits = self.knowledge.search(text, intent=intent, k=self.k)
        best = max(hits, key=lambda hit: hit.score, default=None)
        if best is None or best.score < self.relevance_threshold:
            return "handoff", None, (), "no_answer"
        entry = best.entry
        source = Source(entry.key, entry.version, entry.title, float(best.score))
        return "answer", quote(best), (source,), None
