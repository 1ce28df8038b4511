"""Credit decisioning: data, models, metrics, policy and decisions."""

from finai.credit.artifact import KIND, CreditModel, DriftReference, ReferenceBins
from finai.credit.decision import Decision, decide, decide_row, score_frame
from finai.credit.gbm import GBMModel
from finai.credit.metrics import (
    CalibrationBin,
    CreditMetrics,
    KSCurve,
    RocCurve,
    ScoreDistribution,
    evaluate,
    ks_curve,
    psi,
    roc_points,
    score_distribution,
)
from finai.credit.outcomes import (
    MAX_OUTCOMES,
    OutcomeCounts,
    OutcomeReport,
    outcomes_from_frame,
    record_outcomes,
)
from finai.credit.personal import decisions_of, erase_expired, read_personal, store_personal
from finai.credit.pipeline import (
    Decider,
    decide_and_record,
    load_model,
    register_model,
    run_training_job,
)
from finai.credit.policy import DEFAULT_POLICY, Outcome, Policy, parse_policy
from finai.credit.reasons import Assessment, Reason
from finai.credit.records import (
    PolicyVersion,
    current_policy,
    get_decision,
    get_policy,
    recent_decisions,
    save_decisions,
    save_policy,
)
from finai.credit.scorecard import ScorecardModel
from finai.credit.scoring import ScoreSummary, evaluate_model, explain_row, score_file
from finai.credit.shadow import ShadowPairs, shadow_pairs
from finai.credit.training import Algorithm, TrainResult, train
from finai.datasets.spec import DatasetSpec, load_table, prepare

__all__ = [
    "DEFAULT_POLICY",
    "KIND",
    "MAX_OUTCOMES",
    "Algorithm",
    "Assessment",
    "CalibrationBin",
    "CreditMetrics",
    "CreditModel",
    "DatasetSpec",
    "Decider",
    "Decision",
    "DriftReference",
    "GBMModel",
    "KSCurve",
    "Outcome",
    "OutcomeCounts",
    "OutcomeReport",
    "Policy",
    "PolicyVersion",
    "Reason",
    "ReferenceBins",
    "RocCurve",
    "ScoreDistribution",
    "ScoreSummary",
    "ScorecardModel",
    "ShadowPairs",
    "TrainResult",
    "current_policy",
    "decide",
    "decide_and_record",
    "decide_row",
    "decisions_of",
    "erase_expired",
    "evaluate",
    "evaluate_model",
    "explain_row",
    "get_decision",
    "get_policy",
    "ks_curve",
    "load_model",
    "load_table",
    "outcomes_from_frame",
    "parse_policy",
    "prepare",
    "psi",
    "read_personal",
    "recent_decisions",
    "record_outcomes",
    "register_model",
    "roc_points",
    "run_training_job",
    "save_decisions",
    "save_policy",
    "score_distribution",
    "score_file",
    "score_frame",
    "shadow_pairs",
    "store_personal",
    "train",
]
