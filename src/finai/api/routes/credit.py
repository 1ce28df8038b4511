"""Credit decisions, policy and model training over HTTP."""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path as FilePath
from typing import Annotated

import pandas as pd
from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    File,
    Form,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)

from finai import credit, governance
from finai.api.credit_schemas import (
    ApplicantDecisions,
    ApplicantSearch,
    BatchCreate,
    BatchPublic,
    DecisionCreate,
    DecisionPublic,
    DecisionsPublic,
    FieldName,
    JobPublic,
    MonotoneEntry,
    PersonalPublic,
    PolicyPublic,
    PolicyUpdate,
    SpecText,
)
from finai.api.deps import CurrentKey, PlatformDep, SessionDep, authorize_api
from finai.api.idempotent import IdempotencyKey, once
from finai.api.permissions import allowed
from finai.api.schemas import RECORD_ID
from finai.credit.personal import with_values
from finai.exceptions import ValidationError
from finai.jobs import create_job, get_job

router = APIRouter(prefix="/v1/credit", dependencies=[Depends(authorize_api)], tags=["credit"])

DecisionId = Annotated[str, Path(pattern=RECORD_ID)]
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
UPLOAD_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
PERSONAL_ROUTE = "/v1/credit/decisions/{decision_id}/personal"


async def get_decider(request: Request) -> credit.Decider:
    """Depend on the app's :class:`~finai.credit.Decider` (models and policy it keeps)."""
    decider: credit.Decider = request.app.state.credit_decider
    return decider


DeciderDep = Annotated[credit.Decider, Depends(get_decider)]


@router.post("/decisions", status_code=201, response_model=DecisionPublic)
def create_decision(
    body: DecisionCreate,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    decider: DeciderDep,
    idempotency_key: IdempotencyKey = None,
) -> DecisionPublic | Response:
    """Decide one applicant with the model's champion (or the version named) and the policy."""

    def decide() -> DecisionPublic:
        decision = decider.decide_row_and_record(
            session,
            platform.audit_key,
            body.applicant,
            model_ref=body.model,
            actor=key.id,
            applicant_ref=body.applicant_ref,
        )
        if body.personal is not None:
            credit.store_personal(
                session,
                platform.vault,
                decision_id=decision.id,
                personal=body.personal.model_dump(mode="json", exclude_none=True),
                reasons=decision.reasons,
            )
        return DecisionPublic.from_domain(decision)

    return once(
        session,
        key_id=key.id,
        idempotency_key=idempotency_key,
        route="credit.decisions",
        request=body,
        status=201,
        work=decide,
        vault=platform.vault,
        subject=None if body.personal is None else body.personal.national_id,
    )


@router.post("/decisions/batch", status_code=201, response_model=BatchPublic)
def create_batch(
    body: BatchCreate,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    decider: DeciderDep,
    idempotency_key: IdempotencyKey = None,
) -> BatchPublic | Response:
    """Decide up to 10,000 applicants; all are stored and audited together, or none."""

    def decide() -> BatchPublic:
        batch_id = secrets.token_hex(16)
        decisions = decider.decide_and_record(
            session,
            platform.audit_key,
            pd.DataFrame(body.applicants),
            model_ref=body.model,
            actor=key.id,
            batch_id=batch_id,
            ref_column=body.ref_field,
        )
        return BatchPublic(
            batch_id=batch_id,
            count=len(decisions),
            outcomes=dict(Counter(d.outcome.value for d in decisions)),
            data=[DecisionPublic.from_domain(d) for d in decisions],
        )

    return once(
        session,
        key_id=key.id,
        idempotency_key=idempotency_key,
        route="credit.decisions.batch",
        request=body,
        status=201,
        work=decide,
        vault=platform.vault,
    )


@router.get("/decisions")
def list_decisions(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> DecisionsPublic:
    """List the newest decisions."""
    data = [DecisionPublic.from_domain(d) for d in credit.recent_decisions(session, limit)]
    return DecisionsPublic(data=data, count=len(data))


@router.get("/decisions/{decision_id}")
def read_decision(
    decision_id: DecisionId, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> DecisionPublic:
    """Show one decision: outcome, reasons, and the model and policy versions used.

    The reasons' values are personal data: roles that may read personal data see them
    where the applicant's sealed data holds them (audited); others, and everyone once
    the person is erased or when none was sent, see the reasons without values.
    """
    decision = credit.get_decision(session, decision_id)
    if key.role.value in (allowed("GET", PERSONAL_ROUTE) or ()):
        opened = with_values(
            session, platform.vault, platform.audit_key, decision=decision, actor=key.id
        )
        if opened is not decision:
            session.commit()
        decision = opened
    return DecisionPublic.from_domain(decision)


@router.get("/decisions/{decision_id}/personal")
def read_personal(
    decision_id: DecisionId, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> PersonalPublic:
    """Open the applicant's personal data of a decision (audited; 404 once erased)."""
    opened = credit.read_personal(
        session, platform.vault, platform.audit_key, decision_id=decision_id, actor=key.id
    )
    session.commit()
    return PersonalPublic.model_validate(opened)


@router.post("/applicants/search")
def search_applicant(
    body: ApplicantSearch, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> ApplicantDecisions:
    """Find a person's decisions by national id, through its blind index (audited)."""
    found = credit.decisions_of(
        session, platform.vault, platform.audit_key, national_id=body.national_id, actor=key.id
    )
    session.commit()
    return ApplicantDecisions(decision_ids=found)


@router.get("/policy")
def read_policy(session: SessionDep) -> PolicyPublic:
    """Show the lending policy in force."""
    return PolicyPublic.from_domain(credit.current_policy(session))


@router.put("/policy")
def update_policy(
    body: PolicyUpdate, session: SessionDep, key: CurrentKey, platform: PlatformDep
) -> PolicyPublic:
    """Validate and store a new policy version; it applies to the next decisions."""
    stored = credit.save_policy(session, platform.audit_key, text=body.yaml, actor=key.id)
    session.commit()
    return PolicyPublic.from_domain(stored)


@router.post("/models/train", status_code=202)
async def train_model(
    background: BackgroundTasks,
    session: SessionDep,
    key: CurrentKey,
    platform: PlatformDep,
    file: Annotated[UploadFile, File(description="CSV or Parquet table of past loans")],
    name: Annotated[str, Form(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")],
    target: Annotated[
        FieldName | None, Form(description="the outcome column; required unless `spec` names it")
    ] = None,
    spec: Annotated[
        SpecText | None,
        Form(description="a YAML dataset spec; the other fields, when given, replace its values"),
    ] = None,
    bad: Annotated[FieldName | None, Form(description="the target value meaning bad")] = None,
    id_column: Annotated[FieldName | None, Form(description="a column of row ids")] = None,
    drop: Annotated[list[FieldName] | None, Form(description="columns to ignore")] = None,
    protected: Annotated[
        list[FieldName] | None, Form(description="columns kept out of the model")
    ] = None,
    categorical: Annotated[
        list[FieldName] | None, Form(description="columns to treat as categorical")
    ] = None,
    numeric: Annotated[
        list[FieldName] | None, Form(description="columns to treat as numeric")
    ] = None,
    monotone: Annotated[
        list[MonotoneEntry] | None,
        Form(description="`COLUMN=+1` (PD rises with it) or `COLUMN=-1` (PD falls with it)"),
    ] = None,
    model: Annotated[credit.Algorithm, Form()] = "auto",
    seed: Annotated[int, Form(ge=0, le=2**31 - 1)] = 42,
) -> JobPublic:
    """Start training on an uploaded table; poll the returned job for progress.

    The dataset spec comes from the `spec` YAML, the other form fields, or both: a field
    given replaces that key of the YAML (a repeated field replaces the whole list).
    """
    filename = (file.filename or "").lower()
    suffix = next((s for s in UPLOAD_SUFFIXES if filename.endswith(s)), None)
    if suffix is None:
        raise ValidationError("file must be .csv, .csv.gz, .parquet or .pq", field="file")
    overrides: dict[str, object] = {
        "target": target,
        "bad": bad,
        "id": id_column,
        "drop": drop or None,
        "protected": protected or None,
        "categorical": categorical or None,
        "numeric": numeric or None,
        "monotone": monotone or None,
    }
    dataset = (
        credit.DatasetSpec.from_yaml_text(spec, overrides)
        if spec is not None
        else credit.DatasetSpec.from_dict(overrides)
    )
    job = create_job(
        session,
        platform.audit_key,
        kind="credit.train",
        params={"name": name, "model": model, "seed": seed, "spec": dataset.to_dict()},
        actor=key.id,
    )
    uploads = platform.settings.home / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    path = FilePath(uploads / f"{job.id}{suffix}")
    path.write_bytes(await file.read())
    session.commit()
    background.add_task(
        credit.run_training_job,
        platform.sessions,
        platform.audit_key,
        platform.artifact_dir,
        job_id=job.id,
        data_path=path,
        spec=dataset,
        algorithm=model,
        name=name,
        seed=seed,
        actor=key.id,
        registered=lambda s, v: governance.write_cards(
            s, name=v.name, actor=key.id, versions=[v.version]
        ),
    )
    return JobPublic(**{k: v for k, v in vars(job).items() if k in JobPublic.model_fields})


@router.get("/jobs/{job_id}")
def read_job(job_id: JobId, session: SessionDep) -> JobPublic:
    """Show a training job's progress and, when done, its result or error."""
    job = get_job(session, job_id)
    return JobPublic(**{k: v for k, v in vars(job).items() if k in JobPublic.model_fields})
