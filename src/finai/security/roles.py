"""The roles an API key can hold."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a key may do; the API's permission table maps routes to these.

    ``admin`` everything; ``analyst`` train, register and read; ``operator``
    request decisions and work queues; ``auditor`` read-only over decisions,
    audit and models.
    """

    ADMIN = "admin"
    ANALYST = "analyst"
    OPERATOR = "operator"
    AUDITOR = "auditor"
