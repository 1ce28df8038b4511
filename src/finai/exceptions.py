"""The one exception tree of FinAI; ``str(exc)`` is always safe to show a user.

::

    FinAIError
    ├── ValidationError (ValueError)      bad input: names the field and the reason
    ├── NotFound (LookupError)            an id, name or version that does not exist
    ├── Conflict                          the request clashes with stored state
    ├── AuthenticationError               no key, an unknown, revoked or expired key
    ├── PermissionDenied                  a known key whose role may not do this
    ├── RateLimited                       a key over its request rate: wait and retry
    ├── IntegrityError                    stored data fails its own check (hash, chain)
    └── ConfigurationError                settings that must not be used as they are
"""

from __future__ import annotations


class FinAIError(Exception):
    """Base of every FinAI error; the message names ids, never personal data."""

    title = "FinAI error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ValidationError(FinAIError, ValueError):
    """Input that breaks a rule; ``field`` names where, the message says why."""

    title = "Invalid input"


class NotFound(FinAIError, LookupError):
    """A referenced object does not exist."""

    title = "Not found"


class Conflict(FinAIError):
    """The request is valid but clashes with what is stored."""

    title = "Conflict"


class AuthenticationError(FinAIError):
    """The caller could not be identified."""

    title = "Not authenticated"


class PermissionDenied(FinAIError):
    """The caller is known but their role may not do this."""

    title = "Forbidden"


class RateLimited(FinAIError):
    """Too many requests from one key; ``retry_after`` says how many seconds to wait."""

    title = "Too many requests"

    def __init__(self, message: str, *, field: str | None = None, retry_after: float = 1.0) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class IntegrityError(FinAIError):
    """Stored data failed a hash, signature or chain check."""

    title = "Integrity check failed"


class UpstreamError(FinAIError):
    """A service FinAI relies on (e.g. a self-hosted translation server) failed to answer."""

    title = "Upstream service failed"


class ConfigurationError(FinAIError):
    """Settings that FinAI refuses to run with."""

    title = "Configuration error"
