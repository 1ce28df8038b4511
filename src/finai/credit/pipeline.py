"""The credit use cases the faces call: train and register, decide and record."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from finai import registry
from finai.credit.artifact import KIND, CreditModel
from finai.credit.decision import Decision, decide
from finai.credit.records import current_policy, save_decisions
from finai.credit.training import Algorithm, TrainResult, train
from finai.datasets.spec import DatasetSpec, load_table
from finai.exceptions import FinAIError, ValidationError
from finai.jobs import JobReporter

logger = logging.getLogger(__name__)


def _finite(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in metrics.items()
        if not (isinstance(v, float) and not math.isfinite(v)) and not isinstance(v, list)
    }


def register_model(
    session: Session,
    audit_key: bytes,
    artifact_dir: Path,
    *,
    name: str,
    result: TrainResult,
    data: pd.DataFrame,
    actor: str,
) -> registry.ModelVersion:
    """Register a trained credit model with its lineage (the caller commits)."""
    return registry.register(
        session,
        audit_key,
        artifact_dir,
        name=name,
        model=result.model,
        kind=KIND,
        actor=actor,
        params={
            "algorithm": result.model.algorithm,
            "folds": result.folds,
            "chosen_because": result.chosen_because,
            "spec": result.model.spec.to_dict(),
            "cv": [_finite(row) for row in result.cv],
        },
        metrics=_finite(result.metrics),
        seed=result.seed,
        data=data,
    )


def load_model(
    session: Session, artifact_dir: Path, ref: str
) -> tuple[registry.ModelVersion, CreditModel]:
    """Load a credit model by ``NAME[:VERSION]`` after checking its artifact's hash."""
    name, version = registry.parse_ref(ref)
    info, model = registry.load(session, artifact_dir, name, version)
    if info.kind != KIND or not isinstance(model, CreditModel):
        raise ValidationError(f"model {name!r} is not a credit model", field="model")
    return info, model


def decide_and_record(
    session: Session,
    audit_key: bytes,
    artifact_dir: Path,
    frame: pd.DataFrame,
    *,
    model_ref: str,
    actor: str,
    batch_id: str | None = None,
    ref_column: str | None = None,
) -> list[Decision]:
    """Decide every row with the model and the current policy, store and audit them.

    Nothing is stored unless every row could be decided; the caller commits once.
    """
    info, model = load_model(session, artifact_dir, model_ref)
    policy = current_policy(session)
    decisions = decide(
        frame,
        model,
        policy.policy,
        model_name=info.name,
        model_version=info.version,
        policy_version=policy.version,
        ref_column=ref_column,
    )
    save_decisions(session, audit_key, decisions, actor=actor, batch_id=batch_id)
    return decisions


def run_training_job(
    sessions: sessionmaker[Session],
    audit_key: bytes,
    artifact_dir: Path,
    *,
    job_id: str,
    data_path: Path,
    spec: DatasetSpec,
    algorithm: Algorithm,
    name: str,
    seed: int,
    actor: str,
) -> None:
    """Train and register a model as a background job, reporting progress to the job.

    A failure registers nothing and marks the job failed with a user-facing reason.
    """
    reporter = JobReporter(sessions, job_id)
    try:
        reporter.progress(0.0, "reading data")
        frame = load_table(data_path)
        result = train(frame, spec, algorithm=algorithm, seed=seed, progress=reporter.progress)
        with sessions() as session:
            version = register_model(
                session,
                audit_key,
                artifact_dir,
                name=name,
                result=result,
                data=frame,
                actor=actor,
            )
            session.commit()
        reporter.succeed(
            {
                "name": version.name,
                "version": version.version,
                "algorithm": result.model.algorithm,
                "chosen_because": result.chosen_because,
                "metrics": _finite(result.metrics),
            }
        )
    except FinAIError as exc:
        reporter.fail(str(exc))
    except Exception:
        logger.exception("training job failed", extra={"job_id": job_id})
        reporter.fail("training failed unexpectedly; see the service log")
    finally:
        data_path.unlink(missing_ok=True)
