"""The one permission table: which role may call which route.

Every route of the app must have an entry (a test walks them all); a route without
one is refused for everybody. ``PUBLIC`` routes need no key.
"""

from __future__ import annotations

from typing import Final

from finai.security import Role

PUBLIC: Final = frozenset({"public"})

ALL = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.ANALYST, Role.AUDITOR})
MODEL_WRITERS = frozenset({Role.ADMIN, Role.ANALYST})
AUDIT_READERS = frozenset({Role.ADMIN, Role.AUDITOR})
DECIDERS = frozenset({Role.ADMIN, Role.OPERATOR})

PERMISSIONS: dict[tuple[str, str], frozenset[str]] = {
    # service
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/v1/whoami"): ALL,
    # model registry
    ("GET", "/v1/models"): READERS | {Role.OPERATOR},
    ("GET", "/v1/models/{name}"): READERS | {Role.OPERATOR},
    ("GET", "/v1/models/{name}/versions/{version}"): READERS | {Role.OPERATOR},
    ("GET", "/v1/models/{name}/versions/{version}/card"): READERS | {Role.OPERATOR},
    ("POST", "/v1/models/{name}/versions/{version}/approve"): ADMIN,
    ("POST", "/v1/models/{name}/versions/{version}/promote"): ADMIN,
    ("POST", "/v1/models/{name}/challenger"): ADMIN,
    ("POST", "/v1/models/{name}/rollback"): ADMIN,
    # credit
    ("POST", "/v1/credit/decisions"): DECIDERS,
    ("POST", "/v1/credit/decisions/batch"): DECIDERS,
    ("GET", "/v1/credit/decisions"): ALL,
    ("GET", "/v1/credit/decisions/{decision_id}"): ALL,
    ("GET", "/v1/credit/decisions/{decision_id}/personal"): MODEL_WRITERS,
    ("POST", "/v1/credit/applicants/search"): MODEL_WRITERS,
    ("GET", "/v1/credit/policy"): ALL,
    ("PUT", "/v1/credit/policy"): ADMIN,
    ("POST", "/v1/credit/models/train"): MODEL_WRITERS,
    ("GET", "/v1/credit/jobs/{job_id}"): MODEL_WRITERS,
    # fraud
    ("POST", "/v1/fraud/score"): DECIDERS,
    ("GET", "/v1/fraud/scores/{transaction_id}"): READERS | {Role.OPERATOR},
    ("POST", "/v1/fraud/labels"): DECIDERS | MODEL_WRITERS,
    ("GET", "/v1/fraud/alerts"): READERS,
    ("GET", "/v1/fraud/alerts/{alert_id}"): READERS,
    ("POST", "/v1/fraud/alerts/{alert_id}/assign"): MODEL_WRITERS,
    ("POST", "/v1/fraud/alerts/{alert_id}/resolve"): MODEL_WRITERS,
    # governance: drift
    ("GET", "/v1/governance/drift"): READERS,
    ("POST", "/v1/governance/drift/checks"): MODEL_WRITERS,
    # outcomes and monitoring
    ("POST", "/v1/credit/outcomes"): DECIDERS | MODEL_WRITERS,
    ("GET", "/v1/governance/monitoring"): READERS,
    # governance: fairness reports and explanations (a report changes nothing but the
    # audit chain it is recorded in, so auditors, who validate models, may run one)
    ("POST", "/v1/governance/fairness"): MODEL_WRITERS | {Role.AUDITOR},
    ("GET", "/v1/governance/explanations/{name}"): READERS,
    # governance: champion against challenger, fairness-mitigated candidates
    ("GET", "/v1/governance/challenger/{name}"): READERS,
    ("POST", "/v1/governance/mitigations"): MODEL_WRITERS,
    # assistant: customers write through the channel's operator key; staff (admins,
    # analysts) work the handoff queue and keep the knowledge base; auditors read
    ("POST", "/v1/assist/messages"): DECIDERS,
    ("POST", "/v1/assist/audio"): DECIDERS,
    ("GET", "/v1/assist/handoffs"): READERS,
    ("POST", "/v1/assist/handoffs/{handoff_id}/assign"): MODEL_WRITERS,
    ("POST", "/v1/assist/handoffs/{handoff_id}/resolve"): MODEL_WRITERS,
    ("GET", "/v1/assist/conversations/{conversation_id}"): READERS,
    ("POST", "/v1/assist/conversations/{conversation_id}/replies"): MODEL_WRITERS,
    ("GET", "/v1/assist/kb"): ALL,
    ("POST", "/v1/assist/kb"): MODEL_WRITERS,
    # keys
    ("GET", "/v1/keys"): ADMIN,
    ("POST", "/v1/keys"): ADMIN,
    ("GET", "/v1/keys/{key_id}"): ADMIN,
    ("DELETE", "/v1/keys/{key_id}"): ADMIN,
    # audit
    ("GET", "/v1/audit/entries"): AUDIT_READERS,
    ("GET", "/v1/audit/verify"): AUDIT_READERS,
    # dashboard
    ("GET", "/static/{filename}"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): ALL,
    ("GET", "/"): ALL,
    ("GET", "/models"): READERS | {Role.OPERATOR},
    ("GET", "/models/{name}"): READERS | {Role.OPERATOR},
    ("GET", "/models/{name}/versions/{version}/card"): READERS | {Role.OPERATOR},
    ("POST", "/models/{name}/versions/{version}/approve"): ADMIN,
    ("POST", "/models/{name}/versions/{version}/promote"): ADMIN,
    ("POST", "/models/{name}/challenger"): ADMIN,
    ("POST", "/models/{name}/rollback"): ADMIN,
    ("GET", "/credit"): ALL,
    ("GET", "/credit/decisions/{decision_id}"): ALL,
    ("POST", "/credit/decide"): DECIDERS,
    ("GET", "/fraud"): READERS,
    ("GET", "/fraud/transactions/{transaction_id}"): READERS | {Role.OPERATOR},
    ("GET", "/monitoring"): READERS,
    ("POST", "/fraud/alerts/{alert_id}/assign"): MODEL_WRITERS,
    ("POST", "/fraud/alerts/{alert_id}/resolve"): MODEL_WRITERS,
    ("GET", "/assist"): READERS,
    ("GET", "/assist/queue"): READERS,
    ("GET", "/assist/conversations/{conversation_id}"): READERS,
    ("POST", "/assist/handoffs/{handoff_id}/assign"): MODEL_WRITERS,
    ("POST", "/assist/handoffs/{handoff_id}/resolve"): MODEL_WRITERS,
    ("POST", "/assist/conversations/{conversation_id}/reply"): MODEL_WRITERS,
    ("POST", "/assist/kb"): MODEL_WRITERS,
    ("GET", "/governance"): READERS,
    ("GET", "/audit"): AUDIT_READERS,
    ("POST", "/audit/verify"): AUDIT_READERS,
    ("GET", "/keys"): ADMIN,
    ("POST", "/keys"): ADMIN,
    ("POST", "/keys/{key_id}/revoke"): ADMIN,
}


def allowed(method: str, path: str) -> frozenset[str] | None:
    """Return who may call a route (``None`` when the table has no entry)."""
    return PERMISSIONS.get((method.upper(), path))
