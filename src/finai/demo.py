"""Demo content for a fresh install, so the service decides from the first start.

The default lending policy, a credit model trained on a seeded synthetic loan book, a
fraud model trained on seeded simulated card transactions, an intent model trained on the
bundled BANKING77 utterances (TF-IDF encoder, for a fast text path) and the bundled demo
FAQ in the assistant's knowledge base.

The demo models pass the same four-eyes rule as any other: each is registered by the
system actor ``system:demo`` (the demo trainer) and approved, then promoted, by the
distinct system actor ``system:init`` (the installer), with a comment that says what
they are. No API key is involved; a key cannot take either name, since key ids are
random hex.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from finai import assist, credit, fraud, governance, registry
from finai.assist import kb_store
from finai.context import Platform
from finai.datasets import make_loan_book
from finai.exceptions import NotFound
from finai.security.audit import SYSTEM_ACTOR
from finai.store import ModelVersionRow

DEMO_MODEL = "credit-demo"
DEMO_ROWS = 5_000
DEMO_SEED = 7
DEMO_FRAUD_MODEL = "demo-fraud"
DEMO_FRAUD_TRAIN = ("2026-04-01", "2026-06-29")
DEMO_ALERTS_PER_DAY = 20.0
DEMO_INTENT_MODEL = "demo-intents"
DEMO_INTENT_ENCODER = "tfidf"
DEMO_TRAINER = "system:demo"
DEMO_APPROVER = "system:init"
DEMO_APPROVAL = (
    "Demo model, approved automatically by 'finai init': trained on seeded synthetic data"
    " to show the platform working. It has not been validated and is not for real decisions."
)


@dataclass(frozen=True)
class DemoResult:
    """What ``load_demo`` added (nothing when the demo content exists already)."""

    policy_version: int | None
    model_version: int | None
    fraud_model_version: int | None = None
    intent_model_version: int | None = None
    kb_entries: int = 0


def load_demo(
    platform: Platform, progress: Callable[[float, str], None] | None = None
) -> DemoResult:
    """Store the default policy; train, register, approve and promote the demo models.

    Each part is added only when missing, so running it again changes nothing.
    """
    policy_version = model_version = None
    with platform.sessions() as session:
        try:
            credit.current_policy(session)
        except NotFound:
            stored = credit.save_policy(
                session, platform.audit_key, text=credit.DEFAULT_POLICY, actor=SYSTEM_ACTOR
            )
            session.commit()
            policy_version = stored.version
        exists = _registered(session, DEMO_MODEL)
        fraud_exists = _registered(session, DEMO_FRAUD_MODEL)
        intents_exist = _registered(session, DEMO_INTENT_MODEL)
        kb_entries = 0
        if not kb_store.current_entries(session):
            kb_entries = len(
                kb_store.add_entries(
                    session, platform.audit_key, kb_store.demo_entries(), actor=DEMO_TRAINER
                )
            )
            session.commit()
    if not exists:
        book = make_loan_book(DEMO_ROWS, seed=DEMO_SEED)
        result = credit.train(
            book.frame, book.spec, algorithm="auto", seed=DEMO_SEED, folds=3, progress=progress
        )
        with platform.sessions() as session:
            version = credit.register_model(
                session,
                platform.audit_key,
                platform.artifact_dir,
                name=DEMO_MODEL,
                result=result,
                data=book.frame,
                actor=DEMO_TRAINER,
            )
            _approve_and_promote(platform, session, version)
            session.commit()
        model_version = version.version
    fraud_version = None if fraud_exists else _train_fraud(platform, progress)
    intent_version = None if intents_exist else _train_intents(platform, progress)
    return DemoResult(policy_version, model_version, fraud_version, intent_version, kb_entries)


def _approve_and_promote(
    platform: Platform, session: Session, version: registry.ModelVersion
) -> None:
    """Approve and promote a demo version as the installer; write its model card."""
    name, number = version.name, version.version
    registry.approve(
        session,
        platform.audit_key,
        name=name,
        version=number,
        actor=DEMO_APPROVER,
        comment=DEMO_APPROVAL,
    )
    registry.promote(session, platform.audit_key, name=name, version=number, actor=DEMO_APPROVER)
    governance.write_cards(session, name=name, actor=DEMO_APPROVER, versions=[number])


def _registered(session: Session, name: str) -> bool:
    found = session.scalar(select(ModelVersionRow.id).where(ModelVersionRow.name == name).limit(1))
    return found is not None


def _train_fraud(platform: Platform, progress: Callable[[float, str], None] | None) -> int:
    """Train the demo fraud model on 90 simulated days (about 180,000 transactions)."""
    transactions = fraud.simulate(customers=1_000, terminals=2_000, days=90, seed=DEMO_SEED)
    start, end = DEMO_FRAUD_TRAIN
    result = fraud.train(
        transactions,
        train_start=start,
        train_end=end,
        alerts_per_day=DEMO_ALERTS_PER_DAY,
        seed=DEMO_SEED,
        progress=progress,
    )
    with platform.sessions() as session:
        version = fraud.register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=DEMO_FRAUD_MODEL,
            result=result,
            actor=DEMO_TRAINER,
        )
        _approve_and_promote(platform, session, version)
        session.commit()
    return version.version


def _train_intents(platform: Platform, progress: Callable[[float, str], None] | None) -> int:
    """Train the demo intent model on the bundled BANKING77 training split (TF-IDF)."""
    texts, labels = assist.demo_training_data()
    result = assist.train(
        texts, labels, encoder=DEMO_INTENT_ENCODER, seed=DEMO_SEED, progress=progress
    )
    with platform.sessions() as session:
        version = assist.register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=DEMO_INTENT_MODEL,
            result=result,
            actor=DEMO_TRAINER,
        )
        _approve_and_promote(platform, session, version)
        session.commit()
    return version.version
