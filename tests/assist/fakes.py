"""Small stand-ins for the assistant's models, to test the orchestration on its own."""

from __future__ import annotations

import re
from collections.abc import Sequence

from finai.assist.intents import IntentPrediction
from finai.assist.knowledge import Entry, Hit
from finai.assist.redact import Redaction
from finai.assist.sentiment import Sentiment

Prediction = IntentPrediction
Feeling = Sentiment
Redacted = Redaction


CARD_FEE = Entry(
    "card-fees", 2, "Card fees", "Replacement cards are free of charge.", "faq.md", ("card_fee",)
)


class FakeIntents:
    """Keyword rules: 'card' -> card_fee (answer), 'weather' -> out of scope, '??' -> clarify."""

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out = []
        for text in texts:
            if "weather" in text:
                out.append(Prediction(None, 0.2, "handoff", (("card_fee", 0.2),)))
            elif "??" in text:
                out.append(Prediction("card_fee", 0.4, "clarify", (("card_fee", 0.4),)))
            else:
                out.append(Prediction("card_fee", 0.93, "answer", (("card_fee", 0.93),)))
        return out


class FakeSentiment:
    """'angry' is very negative, 'meh' mildly negative, anything else neutral."""

    def predict(self, texts: Sequence[str]) -> list[Feeling]:
        return [
            Feeling("negative", -0.9)
            if "angry" in t
            else Feeling("negative", -0.2)
            if "meh" in t
            else Feeling("neutral", 0.0)
            for t in texts
        ]


class FakeKnowledge:
    """Finds the card-fee entry for texts about cards (relevance 0.9), nothing otherwise."""

    def __init__(self, entries: Sequence[Entry] = (CARD_FEE,)) -> None:
        self.entries = list(entries)
        self.queries: list[tuple[str, str | None]] = []

    def search(self, query: str, *, intent: str | None = None, k: int = 3) -> list[Hit]:
        self.queries.append((query, intent))
        if "card" not in query:
            return [Hit(e, 0.1) for e in self.entries][:k]
        return [Hit(e, 0.9) for e in self.entries][:k]


_EMAIL = re.compile(r"\S+@\S+")


def fake_redact(text: str) -> Redacted:
    found = len(_EMAIL.findall(text))
    return Redacted(_EMAIL.sub("[EMAIL]", text), {"EMAIL": found} if found else {})


def fake_language(text: str) -> str:
    from finai.exceptions import ValidationError

    if "bonjour" in text:
        raise ValidationError("language 'fr' is not supported", field="text")
    return "en"


_WORDS = re.compile(r"[a-z]+")


class WordKnowledge:
    """Relevance = the share of the query's words found in an entry's title (real entries)."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)

    def search(self, query: str, *, intent: str | None = None, k: int = 3) -> list[Hit]:
        words = set(_WORDS.findall(query.lower()))
        scored = [
            Hit(e, len(words & set(_WORDS.findall(e.title.lower()))) / max(len(words), 1))
            for e in self.entries
        ]
        return sorted(scored, key=lambda h: -h.score)[:k]
