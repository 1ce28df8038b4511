"""The assistant's decisions on one message, with stand-in models (no storage)."""

from __future__ import annotations

import pytest

from finai.assist.assistant import Assistant, asks_for_person
from finai.exceptions import ValidationError
from tests.assist.fakes import (
    FakeIntents,
    FakeKnowledge,
    FakeSentiment,
    fake_language,
    fake_redact,
)


def make(**kwargs: object) -> Assistant:
    values: dict[str, object] = {
        "intents": FakeIntents(),
        "sentiment": FakeSentiment(),
        "knowledge": FakeKnowledge(),
        "redact": fake_redact,
        "language": fake_language,
        "max_chars": 200,
        "negative_threshold": -0.5,
        "relevance_threshold": 0.5,
    }
    values.update(kwargs)
    return Assistant(**values)  # type: ignore[arg-type]


def test_an_answer_quotes_the_entry_with_its_key_and_version() -> None:
    turn = make().understand("How much is a new card?")
    assert turn.action == "answer"
    assert turn.intent == "card_fee" and turn.confidence == pytest.approx(0.93)
    assert turn.answer is not None
    assert "Replacement cards are free of charge." in turn.answer
    assert "card-fees version 2" in turn.answer
    assert [(s.key, s.version) for s in turn.sources] == [("card-fees", 2)]
    assert turn.handoff_reason is None
    assert turn.reply == turn.answer


def test_the_text_is_redacted_before_anything_else_sees_it() -> None:
    knowledge = FakeKnowledge()
    turn = make(knowledge=knowledge).understand("my card, mail me at jo@example.com")
    assert turn.text == "my card, mail me at [EMAIL]"
    assert turn.redacted == {"EMAIL": 1}
    assert knowledge.queries == [("my card, mail me at [EMAIL]", "card_fee")]


def test_below_the_relevance_threshold_it_hands_off_and_invents_nothing() -> None:
    turn = make().understand("How do I open a savings account?")
    assert turn.action == "handoff"
    assert turn.handoff_reason == "no_answer"
    assert turn.answer is None and turn.sources == ()
    assert "don't know" in turn.reply


def test_out_of_scope_is_handed_off() -> None:
    turn = make().understand("what is the weather tomorrow")
    assert (turn.action, turn.handoff_reason, turn.intent) == ("handoff", "out_of_scope", None)


def test_an_unsure_intent_asks_to_rephrase() -> None:
    turn = make().understand("card ?? thing")
    assert (turn.action, turn.handoff_reason, turn.answer) == ("clarify", None, None)
    assert "other words" in turn.reply


def test_an_angry_customer_is_escalated_even_when_answered() -> None:
    turn = make().understand("I am angry, what does a new card cost")
    assert turn.action == "answer" and turn.answer is not None
    assert turn.handoff_reason == "negative_sentiment"
    assert turn.sentiment == "negative" and turn.sentiment_score == pytest.approx(-0.9)
    assert turn.reply.startswith(turn.answer) and "team" in turn.reply


def test_an_angry_unclear_message_goes_to_a_person() -> None:
    turn = make().understand("angry ?? card")
    assert (turn.action, turn.handoff_reason) == ("handoff", "negative_sentiment")


def test_mild_negativity_is_not_escalated() -> None:
    turn = make().understand("meh, what does a new card cost")
    assert turn.sentiment == "negative" and turn.handoff_reason is None


def test_asking_for_a_person_is_honoured() -> None:
    turn = make().understand("I want to speak to a real person about my card")
    assert (turn.action, turn.handoff_reason) == ("handoff", "customer_asked")
    assert asks_for_person("can I talk with a human agent")
    assert asks_for_person("Live agent please")
    assert not asks_for_person("my personal card is lost")


def test_with_staff_the_assistant_classifies_but_does_not_answer() -> None:
    turn = make().understand("how much is a new card", with_staff=True)
    assert turn.action == "handoff" and turn.answer is None and turn.handoff_reason is None
    assert turn.intent == "card_fee"


def test_without_an_intent_model_the_knowledge_base_answers_alone() -> None:
    turn = make(intents=None).understand("how much is a new card")
    assert turn.action == "answer" and turn.intent is None and turn.confidence == 0.0


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("   \n\t", "empty"), ("x" * 201, "longer than 200"), ("bonjour", "fr")],
)
def test_bad_messages_are_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        make().understand(text)
    assert caught.value.field == "text"


class FakeTranslator:
    """Turns the one French message the tests send into English; records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def translate(self, text: str, *, source: str, target: str) -> str:
        self.calls.append((text, source, target))
        return "how much is a new card, [EMAIL]" if "bonjour" in text else text


def test_without_a_translator_another_language_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        make().understand("bonjour, combien coûte une nouvelle carte ?")
    assert refused.value.field == "text"


def test_a_translator_lets_the_models_read_another_language_and_stores_the_original() -> None:
    translator = FakeTranslator()
    knowledge = FakeKnowledge()
    turn = make(translator=translator, knowledge=knowledge).understand(
        "bonjour, combien coûte une nouvelle carte ? écrivez à jo@example.com"
    )
    # Only the redacted text leaves for the translation server.
    assert translator.calls == [
        ("bonjour, combien coûte une nouvelle carte ? écrivez à [EMAIL]", "fr", "en")
    ]
    assert knowledge.queries == [("how much is a new card, [EMAIL]", "card_fee")]
    assert turn.language == "fr"
    assert turn.text == "bonjour, combien coûte une nouvelle carte ? écrivez à [EMAIL]"
    assert turn.action == "answer" and turn.sources


# --- with the real modules: redaction, language, sentiment, a small intent model, the index


@pytest.fixture(scope="module")
def real() -> Assistant:
    from finai.assist import train
    from finai.assist.knowledge import KnowledgeIndex
    from finai.assist.language import require_supported
    from finai.assist.redact import redact
    from finai.assist.sentiment import customer_sentiment
    from tests.assist.test_knowledge import bag_of_words, entries
    from tests.cli.test_assist_cli import UTTERANCES

    texts = [t for label, ts in UTTERANCES.items() for t in ts]
    labels = [label for label, ts in UTTERANCES.items() for _ in ts]
    model = train(texts, labels, oos_label="oos", encoder="tfidf", seed=1).model
    return Assistant(
        intents=model,
        sentiment=customer_sentiment(),
        knowledge=KnowledgeIndex(entries(), encoder=bag_of_words),
        redact=redact,
        language=require_supported,
    )


def test_the_real_modules_answer_with_the_source_and_redact(real: Assistant) -> None:
    turn = real.understand("When will my card arrive? Write to ann.lee@example.com")
    assert turn.top[0][0] == "card_arrival"  # the tiny model's thresholds may still hand off
    assert turn.redacted == {"EMAIL": 1} and "ann.lee" not in turn.text
    if turn.action == "answer":
        assert turn.sources[0].key == "card-arrival" and "version 2" in (turn.answer or "")
    else:
        assert turn.answer is None and turn.sources == ()


def test_the_real_modules_escalate_anger_and_refuse_other_languages(real: Assistant) -> None:
    angry = real.understand(
        "This is ridiculous, third time I ask, my card never arrived, worst bank ever!!"
    )
    assert angry.sentiment == "negative" and angry.handoff_reason is not None
    with pytest.raises(ValidationError) as caught:
        real.understand("Meine Karte ist noch nicht angekommen, wann kommt sie endlich an?")
    assert caught.value.field == "text"
