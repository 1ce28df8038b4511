"""Model registry: immutable versions with lineage, stages, verified loading."""

from finai.registry.cache import ModelCache
from finai.registry.fingerprint import fingerprint
from finai.registry.versions import (
    ModelSummary,
    ModelVersion,
    Stage,
    challenge,
    challenger,
    get_version,
    list_models,
    list_versions,
    load,
    parse_ref,
    promote,
    register,
    rollback,
)

__all__ = [
    "ModelCache",
    "ModelSummary",
    "ModelVersion",
    "Stage",
    "challenge",
    "challenger",
    "fingerprint",
    "get_version",
    "list_models",
    "list_versions",
    "load",
    "parse_ref",
    "promote",
    "register",
    "rollback",
]
