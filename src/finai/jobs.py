"""Background jobs with progress kept in the database, so every worker sees them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from finai.exceptions import NotFound
from finai.security import audit
from finai.store import JobRow, utcnow


class JobStatus(StrEnum):
    """Where a job stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """A job as callers see it."""

    id: str
    kind: str
    status: JobStatus
    progress: float
    message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    actor: str
    created_at: datetime
    updated_at: datetime


def _view(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        status=JobStatus(row.status),
        progress=row.progress,
        message=row.message,
        params=dict(row.params),
        result=dict(row.result) if row.result is not None else None,
        error=row.error,
        actor=row.actor,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create_job(
    session: Session, audit_key: bytes, *, kind: str, params: dict[str, Any], actor: str
) -> Job:
    """Queue a job and audit it; the caller commits."""
    now = utcnow()
    row = JobRow(
        id=secrets.token_hex(8),
        kind=kind,
        status=JobStatus.QUEUED.value,
        progress=0.0,
        message="queued",
        params=params,
        actor=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        audit_key,
        actor=actor,
        action="job.create",
        object_type="job",
        object_id=row.id,
        payload={"kind": kind},
    )
    return _view(row)


def get_job(session: Session, job_id: str) -> Job:
    """Return a job by id."""
    row = session.get(JobRow, job_id)
    if row is None:
        raise NotFound(f"no job with id {job_id!r}", field="job_id")
    return _view(row)


class JobReporter:
    """Writes a running job's progress, each update in its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session], job_id: str) -> None:
        self.sessions = sessions
        self.job_id = job_id

    def _set(self, **values: Any) -> None:
        with self.sessions() as session:
            row = session.get(JobRow, self.job_id)
            if row is None:
                raise NotFound(f"no job with id {self.job_id!r}", field="job_id")
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            session.commit()

    def progress(self, fraction: float, message: str) -> None:
        """Record progress in [0, 1] and what is happening."""
        self._set(
            status=JobStatus.RUNNING.value,
            progress=min(max(fraction, 0.0), 1.0),
            message=message[:500],
        )

    def succeed(self, result: dict[str, Any]) -> None:
        """Mark the job done with its result."""
        self._set(status=JobStatus.SUCCEEDED.value, progress=1.0, message="done", result=result)

    def fail(self, error: str) -> None:
        """Mark the job failed with a user-facing reason."""
        self._set(status=JobStatus.FAILED.value, message="failed", error=error[:2000])
