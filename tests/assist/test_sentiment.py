"""Sentiment: customer messages, the lexicon baseline, training, evaluation, labels, registry."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from finai import registry
from finai.assist.sentiment import (
    KIND,
    LABELS,
    LexiconSentiment,
    Sentiment,
    SentimentAnalyzer,
    SentimentModel,
    customer_sentiment,
    evaluate_sentiment,
    load_sentiment_labels,
    load_sentiment_model,
    normalize_labels,
    register_sentiment_model,
    train_sentiment,
)
from finai.context import Platform
from finai.exceptions import NotFound, ValidationError

# --- customer messages ----------------------------------------------------------------

ANGRY = [
    "this is ridiculous, third time I've asked",
    "I'm furious",
    "Still waiting. Nobody answers the phone.",
    "You charged me twice and nobody cares!!",
    "this is a joke, I have been waiting for 3 weeks",
    "Fed up with this bank, I want to close my account",
    "thanks for nothing",
    "WHY IS MY CARD DECLINED AGAIN???",
    "How many times do I have to explain this?",
    "Absolutely useless service, worst bank ever",
]
HAPPY = [
    "thank you so much, great help",
    "Brilliant, sorted in two minutes, cheers!",
    "Love the new app, really easy to use",
    "Perfect, that's exactly what I needed. Thanks!",
    "You've been very helpful, I appreciate it",
]
NEUTRAL = [
    "I'd like to open an account",
    "How do I change my PIN?",
    "Can you help me block my card?",
    "What is the interest rate on savings?",
    "Please send me a new card",
    "I want to transfer money to my friend",
    "Is there a fee for withdrawals abroad?",
    "Do you support Apple Pay?",
    "What is my credit limit?",
    "I need to top up my account",
    "How many times can I top up per day?",
    "Should I try again?",
    "How do I close my account?",
    "It was declined once, the second time it went through",
]


@pytest.mark.parametrize(
    ("text", "label"),
    [(t, "negative") for t in ANGRY]
    + [(t, "positive") for t in HAPPY]
    + [(t, "neutral") for t in NEUTRAL],
)
def test_customer_sentiment_on_clear_messages(text: str, label: str) -> None:
    (result,) = customer_sentiment().predict([text])
    assert result.label == label
    assert -1.0 <= result.score <= 1.0


def test_frustration_phrases_reach_the_escalation_level() -> None:
    # Each phrase alone, without any negative word VADER knows, lands near "angry" (-0.57),
    # below the assistant's escalation threshold of -0.5.
    texts = ["third time I've asked", "nobody answers", "this is a joke", "waiting for 2 weeks"]
    scores = [s.score for s in customer_sentiment().predict(texts)]
    assert all(score <= -0.5 for score in scores), scores


def test_a_single_mild_complaint_is_negative_but_not_escalated() -> None:
    got = customer_sentiment().predict(["my card still hasn't arrived", "I lost my card"])
    assert [s.label for s in got] == ["negative", "negative"]
    assert all(-0.5 < s.score < 0 for s in got), got


def test_the_lexicon_baseline_misses_customer_frustration() -> None:
    # Why customer messages need their own analyzer: finance lists don't know these words.
    texts = ["I'm furious", "Still waiting. Nobody answers the phone."]
    assert [s.label for s in LexiconSentiment().predict(texts)] == ["neutral", "neutral"]
    assert [s.label for s in customer_sentiment().predict(texts)] == ["negative", "negative"]


def test_lexicon_baseline_on_finance_text() -> None:
    got = LexiconSentiment().predict(
        [
            "Profits fell sharply and the company warned of losses",
            "The bank reported strong gains and improved profitability",
            "The meeting is on Tuesday",
        ]
    )
    assert [s.label for s in got] == ["negative", "positive", "neutral"]
    assert got[0].score < 0 < got[1].score
    assert got[2].score == 0.0


def test_analyzers_satisfy_the_protocol_and_handle_no_texts() -> None:
    analyzers: list[SentimentAnalyzer] = [customer_sentiment(), LexiconSentiment()]
    for analyzer in analyzers:
        assert analyzer.predict([]) == []


@given(st.text(max_size=200))
def test_customer_scores_are_bounded_and_agree_with_labels(text: str) -> None:
    (result,) = customer_sentiment().predict([text])
    assert -1.0 <= result.score <= 1.0
    assert result.label in LABELS
    if result.label == "positive":
        assert result.score > 0
    elif result.label == "negative":
        assert result.score < 0


# --- labels ---------------------------------------------------------------------------


def test_label_mapping() -> None:
    assert normalize_labels([0, 1, 2]) == ["negative", "positive", "neutral"]
    assert normalize_labels(["0", "1", "2.0", 2.0]) == [
        "negative",
        "positive",
        "neutral",
        "neutral",
    ]
    assert normalize_labels([-1, 0, 1]) == ["negative", "neutral", "positive"]
    assert normalize_labels([" Bearish", "BULLISH", "neu", "Pos", "neg "]) == [
        "negative",
        "positive",
        "neutral",
        "positive",
        "negative",
    ]


NAMES = {
    "negative": ["negative", "neg", "bearish", "bear"],
    "neutral": ["neutral", "neu"],
    "positive": ["positive", "pos", "bullish", "bull"],
}


@given(st.lists(st.sampled_from(LABELS), max_size=30), st.randoms(use_true_random=False))
def test_any_spelling_of_a_name_maps_back(labels: list[str], rnd: random.Random) -> None:
    spelled = []
    for label in labels:
        name = rnd.choice(NAMES[label])
        spelled.append(rnd.choice([name, name.upper(), name.title(), f" {name} "]))
    assert normalize_labels(spelled) == labels


KNOWN = {name for names in NAMES.values() for name in names}


@given(
    st.text(st.characters(blacklist_categories=("Nd",)), min_size=1).filter(
        lambda s: s.strip().lower() not in KNOWN
    )
)
def test_unknown_labels_are_refused_by_name(label: str) -> None:
    with pytest.raises(ValidationError, match="unknown sentiment label") as caught:
        normalize_labels(["positive", label])
    assert caught.value.field == "label_col"


def test_load_sentiment_labels_reads_csv_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"tweet": ["up", "down", "flat"], "y": [1, 0, 2]})
    frame.to_csv(tmp_path / "s.csv", index=False)
    frame.to_parquet(tmp_path / "s.parquet")
    for name in ("s.csv", "s.parquet"):
        texts, labels = load_sentiment_labels(tmp_path / name, "tweet", "y")
        assert texts == ["up", "down", "flat"]
        assert labels == ["positive", "negative", "neutral"]


def test_load_sentiment_labels_refuses_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    pd.DataFrame({"text": ["a", "b"], "label": ["positive", "meh"]}).to_csv(path, index=False)
    with pytest.raises(ValidationError, match="'meh'") as caught:
        load_sentiment_labels(path, "text", "label")
    assert caught.value.field == "label_col"
    with pytest.raises(ValidationError, match="column 'sentiment' is not in the data") as caught:
        load_sentiment_labels(path, "text", "sentiment")
    assert caught.value.field == "label_col"
    with pytest.raises(ValidationError, match="column 'body'") as caught:
        load_sentiment_labels(path, "body", "label")
    assert caught.value.field == "text_col"
    pd.DataFrame({"text": ["a", None], "label": ["positive", "neutral"]}).to_csv(path, index=False)
    with pytest.raises(ValidationError, match="row\\(s\\) 3 have no text") as caught:
        load_sentiment_labels(path, "text", "label")
    assert caught.value.field == "text_col"
    pd.DataFrame({"text": ["a", "b"], "label": ["positive", None]}).to_csv(path, index=False)
    with pytest.raises(ValidationError, match="have no label"):
        load_sentiment_labels(path, "text", "label")


# --- evaluation -----------------------------------------------------------------------


class Fixed:
    """An analyzer answering a fixed list of labels."""

    name = "fixed"

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels

    def predict(self, texts: object) -> list[Sentiment]:
        return [Sentiment(label, 0.0) for label in self.labels]


def test_evaluate_figures_by_hand() -> None:
    truth = ["negative", "negative", "neutral", "positive"]
    predicted = ["negative", "neutral", "neutral", "neutral"]
    texts = ["bad loss", "weak", "the report", "strong gain"]
    result = evaluate_sentiment(texts, truth, Fixed(predicted))
    assert result["analyzer"] == "fixed"
    assert result["n"] == 4
    assert result["accuracy"] == 0.5
    # negative: P 1, R 1/2, F1 2/3; neutral: P 1/3, R 1, F1 1/2; positive: P 0, R 0, F1 0.
    assert result["per_class"]["negative"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
        "support": 2,
    }
    assert result["per_class"]["neutral"]["f1"] == 0.5
    assert result["per_class"]["positive"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
    }
    assert result["macro_f1"] == round((2 / 3 + 1 / 2 + 0) / 3, 4)
    baseline = result["baseline"]
    assert baseline["analyzer"] == "loughran-mcdonald"
    assert set(baseline) >= {"accuracy", "macro_f1", "per_class"}


def test_macro_f1_leaves_out_labels_neither_true_nor_predicted() -> None:
    result = evaluate_sentiment(
        ["a", "b"], ["positive", "negative"], Fixed(["positive", "negative"])
    )
    assert (result["accuracy"], result["macro_f1"]) == (1.0, 1.0)
    assert result["per_class"]["neutral"]["support"] == 0


def test_evaluate_defaults_to_the_customer_analyzer() -> None:
    result = evaluate_sentiment(ANGRY[:3] + HAPPY[:2], [0, 0, 0, 1, 1])
    assert result["analyzer"] == customer_sentiment().name
    assert result["accuracy"] == 1.0
    assert result["baseline"]["accuracy"] < 1.0


@pytest.mark.parametrize(
    ("texts", "labels", "field"),
    [([], [], "data"), (["a"], [], "data"), (["a", " "], ["neg", "pos"], "text_col")],
)
def test_evaluate_refuses_bad_input(texts: list[str], labels: list[str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        evaluate_sentiment(texts, labels)
    assert caught.value.field == field


# --- training -------------------------------------------------------------------------

TOY = [
    ("shares surge as profits beat forecasts", "positive"),
    ("stock jumps after record quarterly revenue", "positive"),
    ("analyst upgrades the bank to buy", "positive"),
    ("strong growth lifts the shares", "positive"),
    ("shares plunge after profit warning", "negative"),
    ("stock falls as losses widen", "negative"),
    ("analyst downgrades the insurer to sell", "negative"),
    ("weak demand hits the shares", "negative"),
    ("the company will report results on tuesday", "neutral"),
    ("the annual meeting is scheduled for may", "neutral"),
    ("the bank publishes its quarterly report", "neutral"),
    ("the firm names a new finance director", "neutral"),
]


@pytest.fixture(scope="module")
def toy_model() -> SentimentModel:
    texts, labels = zip(*(TOY * 3), strict=True)
    return train_sentiment(list(texts), list(labels), seed=7)


def test_training_learns_the_toy_data(toy_model: SentimentModel) -> None:
    texts = [t for t, _ in TOY]
    got = toy_model.predict(texts)
    assert [s.label for s in got] == [label for _, label in TOY]
    for sentiment in got:
        if sentiment.label != "neutral":
            assert (sentiment.score > 0) == (sentiment.label == "positive")
    assert toy_model.seed == 7
    assert toy_model.class_counts == {"negative": 12, "neutral": 12, "positive": 12}
    assert toy_model.params["labels"] == ["negative", "neutral", "positive"]


def test_probabilities_follow_labels_order(toy_model: SentimentModel) -> None:
    proba = toy_model.predict_proba(["shares surge", "shares plunge"])
    assert proba.shape == (2, 3)
    assert proba[0, LABELS.index("positive")] > proba[0, LABELS.index("negative")]
    assert proba[1, LABELS.index("negative")] > proba[1, LABELS.index("positive")]
    assert toy_model.predict([]) == []


def test_two_labels_are_enough_and_unseen_ones_get_zero() -> None:
    model = train_sentiment(["good gain", "bad loss"] * 5, ["positive", "negative"] * 5)
    assert model.predict_proba(["gain"])[0, LABELS.index("neutral")] == 0.0


def test_training_refuses_one_label() -> None:
    with pytest.raises(ValidationError, match="at least two sentiment labels") as caught:
        train_sentiment(["a", "b"], ["positive", "positive"])
    assert caught.value.field == "label_col"


def test_the_model_pickles(toy_model: SentimentModel) -> None:
    restored = pickle.loads(pickle.dumps(toy_model))
    texts = ["profits beat forecasts", "see https://t.co/x losses widen"]
    assert restored.predict(texts) == toy_model.predict(texts)


def test_register_and_load_round_trip(platform: Platform, toy_model: SentimentModel) -> None:
    with platform.sessions() as session:
        version = register_sentiment_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name="sentiment-test",
            model=toy_model,
            actor="t",
            metrics={"accuracy": 0.9, "macro_f1": 0.8, "per_class": {}, "analyzer": "x"},
        )
        session.commit()
    assert (version.kind, version.seed) == (KIND, 7)
    assert version.metrics == {
        "fit_seconds": toy_model.fit_seconds,
        "accuracy": 0.9,
        "macro_f1": 0.8,
    }
    assert version.params["train_rows"] == 36
    with platform.sessions() as session:
        info, model = load_sentiment_model(session, platform.artifact_dir, "sentiment-test")
        assert info.version == 1
        assert model.predict(["shares surge"]) == toy_model.predict(["shares surge"])
        registry.register(
            session, platform.audit_key, platform.artifact_dir, name="other",
            model={"not": "sentiment"}, kind="fraud.model", actor="t",
        )  # fmt: skip
        session.commit()
        with pytest.raises(ValidationError, match="not a sentiment model"):
            load_sentiment_model(session, platform.artifact_dir, "other")
        with pytest.raises(NotFound):
            load_sentiment_model(session, platform.artifact_dir, "nope")
