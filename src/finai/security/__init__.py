"""Trust: API keys and roles, and the audit hash chain."""

from finai.security.audit import AuditEntry, VerifyResult
from finai.security.keys import (
    ApiKey,
    authenticate,
    count_active_admins,
    create_key,
    get_key,
    list_keys,
    revoke_key,
    touch,
)
from finai.security.roles import Role

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Role",
    "VerifyResult",
    "authenticate",
    "count_active_admins",
    "create_key",
    "get_key",
    "list_keys",
    "revoke_key",
    "touch",
]
