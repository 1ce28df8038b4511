"""Real-time fraud detection: transactions, features offline and online, models, thresholds."""

from finai.fraud.artifact import KIND, FraudModel, Reason
from finai.fraud.evaluation import (
    TOP_K,
    FraudMetrics,
    card_precision_top_k,
    evaluate,
    evaluate_model,
)
from finai.fraud.features import FEATURE_NAMES, FeatureConfig, OnlineFeatures, offline_features
from finai.fraud.models import ALGORITHMS
from finai.fraud.pipeline import Scorers, load_model, register_model, write_transactions
from finai.fraud.scoring import FraudScorer, ScoreResult, Transaction, state_store
from finai.fraud.simulator import simulate
from finai.fraud.state import MemoryStore, StateStore, StateUnavailable
from finai.fraud.state_redis import RedisStore
from finai.fraud.stream import Consumer, ConsumeStats, StreamConfig, publish
from finai.fraud.thresholds import Action, Thresholds, by_alert_budget, by_cost
from finai.fraud.training import TrainResult, train
from finai.fraud.transactions import load_transactions, normalise, parse_columns
from finai.fraud.windows import TimeSplit, Window
from finai.fraud.writer import ScoreWriter

__all__ = [
    "ALGORITHMS",
    "FEATURE_NAMES",
    "KIND",
    "TOP_K",
    "Action",
    "ConsumeStats",
    "Consumer",
    "FeatureConfig",
    "FraudMetrics",
    "FraudModel",
    "FraudScorer",
    "MemoryStore",
    "OnlineFeatures",
    "Reason",
    "RedisStore",
    "ScoreResult",
    "ScoreWriter",
    "Scorers",
    "StateStore",
    "StateUnavailable",
    "StreamConfig",
    "Thresholds",
    "TimeSplit",
    "TrainResult",
    "Transaction",
    "Window",
    "by_alert_budget",
    "by_cost",
    "card_precision_top_k",
    "evaluate",
    "evaluate_model",
    "load_model",
    "load_transactions",
    "normalise",
    "offline_features",
    "parse_columns",
    "publish",
    "register_model",
    "simulate",
    "state_store",
    "train",
    "write_transactions",
]
