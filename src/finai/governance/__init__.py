"""Model governance: fairness reports (explanations, drift and model cards come later)."""

from finai.governance.bootstrap import METRICS
from finai.governance.fairness import (
    FOUR_FIFTHS,
    MIN_GROUP,
    AttributeReport,
    DisparateImpact,
    EqualOpportunity,
    FairnessReport,
    GroupMetrics,
    fairness_report,
    model_fairness_report,
)
from finai.governance.protected import MISSING, ProtectedAttribute

__all__ = [
    "FOUR_FIFTHS",
    "METRICS",
    "MIN_GROUP",
    "MISSING",
    "AttributeReport",
    "DisparateImpact",
    "EqualOpportunity",
    "FairnessReport",
    "GroupMetrics",
    "ProtectedAttribute",
    "fairness_report",
    "model_fairness_report",
]
