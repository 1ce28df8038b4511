"""The credit use cases the faces call: train and register, decide and record."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from finai import registry
from finai.credit.artifact import KIND, CreditModel
from finai.credit.decision import Decision, decide, decide_row
from finai.credit.records import (
    PolicyVersion,
    current_policy,
    current_policy_key,
    get_policy,
    save_decisions,
)
from finai.credit.shadow import FailureHook, ShadowModel, record_shadow
from finai.credit.training import Algorithm, TrainResult, train
from finai.datasets.spec import DatasetSpec, load_table
from finai.exceptions import FinAIError
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
    return registry.load_ref(
        session, artifact_dir, ref, kind=KIND, cls=CreditModel, what="a credit model"
    )


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

    Nothing is stored unless every row could be decided; the caller commits once. The
    model is loaded and the policy read for this call; a service deciding many times
    keeps them in a :class:`Decider`. Decided with the champion (``model_ref`` without a
    version) while the model has a challenger, the rows are also scored in shadow
    (:func:`~finai.credit.shadow.record_shadow`).
    """
    info, model = load_model(session, artifact_dir, model_ref)
    policy = current_policy(session)
    decisions = _decide_frame_and_record(
        session, audit_key, frame, info, model, policy, actor, batch_id, ref_column
    )
    if _is_champion_ref(model_ref):

        def challenger() -> ShadowModel | None:
            found = registry.challenger(session, info.name)
            if found is None or found.version == info.version:
                return None
            return load_model(session, artifact_dir, f"{found.name}:{found.version}")

        record_shadow(session, decisions, frame, policy.policy, challenger)
    return decisions


def _challenger_version(session: Session, name: str) -> int | None:
    found = registry.challenger(session, name)
    return None if found is None else found.version


def _is_champion_ref(model_ref: str) -> bool:
    return registry.parse_ref(model_ref)[1] is None


def _decide_frame_and_record(
    session: Session,
    audit_key: bytes,
    frame: pd.DataFrame,
    info: registry.ModelVersion,
    model: CreditModel,
    policy: PolicyVersion,
    actor: str,
    batch_id: str | None,
    ref_column: str | None,
) -> list[Decision]:
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


class Decider:
    """Credit decisions for a service: models and the policy kept between requests.

    A service keeps one of these. Each model version is loaded, and its artifact
    checked against the registered sha256, once (a :class:`finai.registry.ModelCache`);
    which version is a model's champion, and which its challenger, is looked up again
    at most every ``refresh``, so a promotion or a challenge takes effect within it.
    The policy is parsed once per version: each decision asks the database only for
    the newest policy's version and sha256.

    Decisions made with a model's champion (a reference without a version) are also
    scored in shadow by its challenger, if it has one
    (:func:`~finai.credit.shadow.record_shadow`): stored apart, never changing the
    decision, and never failing it.

    Parameters
    ----------
    artifact_dir
        Where the registry keeps artifacts.
    refresh
        How long a resolved champion or challenger is trusted.
    on_shadow_failure
        Called with the model's name each time its challenger could not answer
        (a service counts these in a metric).
    """

    def __init__(
        self,
        artifact_dir: Path,
        *,
        refresh: timedelta = timedelta(seconds=2),
        on_shadow_failure: FailureHook | None = None,
    ) -> None:
        self.artifact_dir = artifact_dir
        self._models: registry.ModelCache[tuple[registry.ModelVersion, CreditModel]] = (
            registry.ModelCache(self._load, refresh=refresh)
        )
        self._challengers: registry.Refreshed[int | None] = registry.Refreshed(
            _challenger_version, refresh=refresh
        )
        self._on_shadow_failure = on_shadow_failure
        self._policy: PolicyVersion | None = None

    def model(self, session: Session, ref: str) -> tuple[registry.ModelVersion, CreditModel]:
        """Return the version and model of ``NAME[:VERSION]`` (no version: the champion).

        Raises
        ------
        ValidationError
            For a bad reference or a model that is not a credit model.
        NotFound
            For an unknown name or version.
        """
        return self._models.get(session, ref)

    def policy(self, session: Session) -> PolicyVersion:
        """Return the policy in force, parsed again only when a new version is stored.

        Raises
        ------
        NotFound
            When no policy is stored.
        """
        version, sha256 = current_policy_key(session)
        kept = self._policy
        if kept is None or (kept.version, kept.sha256) != (version, sha256):
            kept = get_policy(session, version)
            self._policy = kept
        return kept

    def decide_and_record(
        self,
        session: Session,
        audit_key: bytes,
        frame: pd.DataFrame,
        *,
        model_ref: str,
        actor: str,
        batch_id: str | None = None,
        ref_column: str | None = None,
    ) -> list[Decision]:
        """Decide, store and audit every row, as the function :func:`decide_and_record`."""
        info, model = self.model(session, model_ref)
        policy = self.policy(session)
        decisions = _decide_frame_and_record(
            session, audit_key, frame, info, model, policy, actor, batch_id, ref_column
        )
        if _is_champion_ref(model_ref):
            self._shadow(session, info, decisions, frame, policy)
        return decisions

    def decide_row_and_record(
        self,
        session: Session,
        audit_key: bytes,
        applicant: Mapping[str, Any],
        *,
        model_ref: str,
        actor: str,
        applicant_ref: str | None = None,
    ) -> Decision:
        """Decide one applicant (:func:`~finai.credit.decide_row`), store and audit it.

        The caller commits.

        Raises
        ------
        ValidationError
            For a bad model reference or an applicant that cannot be decided.
        NotFound
            For an unknown model or version, or when no policy is stored.
        """
        info, model = self.model(session, model_ref)
        policy = self.policy(session)
        decision = decide_row(
            applicant,
            model,
            policy.policy,
            model_name=info.name,
            model_version=info.version,
            policy_version=policy.version,
            applicant_ref=applicant_ref,
        )
        save_decisions(session, audit_key, [decision], actor=actor)
        if _is_champion_ref(model_ref):
            self._shadow(session, info, [decision], applicant, policy)
        return decision

    def challenger(self, session: Session, name: str) -> ShadowModel | None:
        """Return the version and model of ``name``'s challenger, if it has one.

        Raises
        ------
        ValidationError, NotFound, IntegrityError
            What loading the challenger's version raises.
        """
        version = self._challengers.get(session, name)
        return None if version is None else self._models.get(session, f"{name}:{version}")

    def _shadow(
        self,
        session: Session,
        info: registry.ModelVersion,
        decisions: list[Decision],
        applications: pd.DataFrame | Mapping[str, Any],
        policy: PolicyVersion,
    ) -> None:
        def challenger() -> ShadowModel | None:
            found = self.challenger(session, info.name)
            return None if found is None or found[0].version == info.version else found

        record_shadow(
            session,
            decisions,
            applications,
            policy.policy,
            challenger,
            on_failure=self._on_shadow_failure,
        )

    def _load(
        self, session: Session, name: str, version: int
    ) -> tuple[registry.ModelVersion, CreditModel]:
        return load_model(session, self.artifact_dir, f"{name}:{version}")


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
    registered: Callable[[Session, registry.ModelVersion], object] | None = None,
) -> None:
    """Train and register a model as a background job, reporting progress to the job.

    ``registered`` is called with the session and the new version before the commit,
    so what it records (the version's model card) lands with the version. A failure
    registers nothing and marks the job failed with a user-facing reason.
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
            if registered is not None:
                registered(session, version)
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
