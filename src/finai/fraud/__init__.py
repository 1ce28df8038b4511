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
from finai.fraud.pipeline import load_model, register_model, write_transactions
from finai.fraud.simulator import simulate
from finai.fraud.state import MemoryStore, StateStore
from finai.fraud.state_redis import RedisStore
from finai.fraud.thresholds import Action, Thresholds, by_alert_budget, by_cost
from finai.fraud.training import TrainResult, train
from finai.fraud.transactions import load_transactions, normalise, parse_columns
from finai.fraud.windows import TimeSplit, Window

__all__ = [
    "ALGORITHMS",
    "FEATURE_NAMES",
    "KIND",
    "TOP_K",
    "Action",
    "FeatureConfig",
    "FraudMetrics",
    "FraudModel",
    "MemoryStore",
    "OnlineFeatures",
    "Reason",
    "RedisStore",
    "StateStore",
    "Thresholds",
    "TimeSplit",
    "TrainResult",
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
    "register_model",
    "simulate",
    "train",
    "write_transactions",
]
