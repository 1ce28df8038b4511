"""Persistence: engine, sessions, tables and migrations."""

from finai.store.engine import make_engine, session_factory, session_scope
from finai.store.migrate import is_current, upgrade
from finai.store.tables import (
    ApiKeyRow,
    AuditEntryRow,
    AuditHeadRow,
    Base,
    CreditDecisionRow,
    CreditPolicyRow,
    FraudAlertRow,
    FraudLabelRow,
    FraudScoreRow,
    JobRow,
    ModelVersionRow,
    StageEventRow,
    utcnow,
)

__all__ = [
    "ApiKeyRow",
    "AuditEntryRow",
    "AuditHeadRow",
    "Base",
    "CreditDecisionRow",
    "CreditPolicyRow",
    "FraudAlertRow",
    "FraudLabelRow",
    "FraudScoreRow",
    "JobRow",
    "ModelVersionRow",
    "StageEventRow",
    "is_current",
    "make_engine",
    "session_factory",
    "session_scope",
    "upgrade",
    "utcnow",
]
