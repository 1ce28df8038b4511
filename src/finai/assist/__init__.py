"""Customer-service assistant: intents with out-of-scope handoff, answers, sentiment, speech."""

from finai.assist.assistant import Assistant
from finai.assist.intents import (
    KIND,
    IntentModel,
    IntentPrediction,
    IntentTrainResult,
    Thresholds,
    demo_test_data,
    demo_training_data,
    evaluate,
    load_labelled,
    load_model,
    register_model,
    train,
)
from finai.assist.knowledge import Entry, EntryDraft, Hit, KnowledgeIndex, parse_entries
from finai.assist.pipeline import Assistants, Reply
from finai.assist.redact import Redaction, redact
from finai.assist.sentiment import (
    Sentiment,
    SentimentAnalyzer,
    SentimentModel,
    customer_sentiment,
    evaluate_sentiment,
    lexicon_sentiment,
    load_sentiment_labels,
    train_sentiment,
)
from finai.assist.speech import Transcript, transcribe

__all__ = [
    "KIND",
    "Assistant",
    "Assistants",
    "Entry",
    "EntryDraft",
    "Hit",
    "IntentModel",
    "IntentPrediction",
    "IntentTrainResult",
    "KnowledgeIndex",
    "Redaction",
    "Reply",
    "Sentiment",
    "SentimentAnalyzer",
    "SentimentModel",
    "Thresholds",
    "Transcript",
    "customer_sentiment",
    "demo_test_data",
    "demo_training_data",
    "evaluate",
    "evaluate_sentiment",
    "lexicon_sentiment",
    "load_labelled",
    "load_model",
    "load_sentiment_labels",
    "parse_entries",
    "redact",
    "register_model",
    "train",
    "train_sentiment",
    "transcribe",
]
