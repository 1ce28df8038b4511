"""The fraud use cases the faces call: register and load models, write transactions."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from finai import registry
from finai.exceptions import ValidationError
from finai.fraud.artifact import KIND, FraudModel
from finai.fraud.features import OnlineFeatures
from finai.fraud.scoring import FraudScorer
from finai.fraud.state import StateStore, StateUnavailable
from finai.fraud.training import TrainResult

__all__ = ["Scorers", "load_model", "register_model", "write_transactions"]

_CSV = (".csv",)
_PARQUET = (".parquet", ".pq")


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in values.items()
        if value is not None and not (isinstance(value, float) and not math.isfinite(value))
    }


def register_model(
    session: Session,
    audit_key: bytes,
    artifact_dir: Path,
    *,
    name: str,
    result: TrainResult,
    actor: str,
) -> registry.ModelVersion:
    """Register a trained fraud model with its lineage (the caller commits).

    The version keeps, besides the artifact: ``metrics``, the validation metrics
    (undefined ones left out) with ``fit_seconds``; ``params``, the algorithm, the
    feature configuration, the windows (train, fit, validation), the thresholds,
    the feature names, the row counts and the boosting rounds; the seed; and the
    fingerprint of the transactions the features were computed from.
    """
    model = result.model
    metrics = _finite(result.metrics.to_dict())
    metrics["fit_seconds"] = result.fit_seconds
    return registry.register(
        session,
        audit_key,
        artifact_dir,
        name=name,
        model=model,
        kind=KIND,
        actor=actor,
        params={
            "algorithm": model.algorithm,
            "features": {
                "windows": list(model.config.windows),
                "delay_days": model.config.delay_days,
                "names": list(model.feature_names),
            },
            "windows": model.split.to_dict(),
            "thresholds": model.thresholds.to_dict(),
            "fit_rows": result.fit_rows,
            "validation_rows": result.validation_rows,
            "best_iteration": result.best_iteration,
        },
        metrics=metrics,
        seed=result.seed,
        data_fingerprint=result.data_fingerprint,
    )


def load_model(
    session: Session, artifact_dir: Path, ref: str
) -> tuple[registry.ModelVersion, FraudModel]:
    """Load a fraud model by ``NAME[:VERSION]`` after checking its artifact's hash.

    Raises
    ------
    ValidationError
        For a bad reference or a model that is not a fraud model.
    NotFound
        For an unknown name or version.
    """
    return registry.load_ref(
        session, artifact_dir, ref, kind=KIND, cls=FraudModel, what="a fraud model"
    )


def write_transactions(frame: pd.DataFrame, path: Path) -> None:
    """Write transactions to ``.csv`` or ``.parquet``/``.pq`` by the file's suffix.

    Times are written as ISO 8601 text with their UTC offset. The file is written under a
    temporary name and moved into place when complete.

    Raises
    ------
    ValidationError
        (``field="out"``) for another suffix or a folder that does not exist.
    """
    suffix = path.suffix.lower()
    if suffix not in _CSV + _PARQUET:
        raise ValidationError(
            f"cannot write {str(path)!r}: use a .csv, .parquet or .pq file", field="out"
        )
    if not path.parent.is_dir():
        raise ValidationError(f"folder {str(path.parent)!r} does not exist", field="out")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    try:
        if suffix in _PARQUET:
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


class Scorers:
    """One :class:`~finai.fraud.scoring.FraudScorer` per model version, sharing a store.

    A service keeps one of these: a model is loaded (and its artifact verified) once per
    version, and which version is the champion is looked up again at most every
    ``refresh``, so a promotion takes effect within it (a :class:`finai.registry.ModelCache`).

    Parameters
    ----------
    store
        The state store every scorer reads and writes.
    artifact_dir
        Where the registry keeps artifacts.
    refresh
        How long a resolved champion is trusted.
    """

    def __init__(
        self, store: StateStore, artifact_dir: Path, *, refresh: timedelta = timedelta(seconds=2)
    ) -> None:
        self.store = store
        self.artifact_dir = artifact_dir
        self._scorers: registry.ModelCache[FraudScorer] = registry.ModelCache(
            self._scorer, refresh=refresh
        )

    def get(self, session: Session, ref: str) -> FraudScorer:
        """Return the scorer of ``NAME[:VERSION]`` (no version: the champion, else newest).

        Raises
        ------
        ValidationError
            For a bad reference or a model that is not a fraud model.
        NotFound
            For an unknown name or version.
        """
        return self._scorers.get(session, ref)

    def label(self, labels: Sequence[tuple[str, bool]]) -> int:
        """Pass verdicts to the state (the delayed terminal risk); return how many it knows.

        The verdicts are already stored in the database by the caller; when the store
        is down the rest are skipped (one outage, not one timeout per label) and the
        state misses them.
        """
        online = OnlineFeatures(self.store)
        known = 0
        for transaction_id, is_fraud in labels:
            try:
                known += online.label(transaction_id, is_fraud)
            except StateUnavailable:
                break
        return known

    def _scorer(self, session: Session, name: str, version: int) -> FraudScorer:
        info, model = load_model(session, self.artifact_dir, f"{name}:{version}")
        return FraudScorer(model, info.name, info.version, self.store)
