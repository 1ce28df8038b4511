"""Demo content for a fresh install, so the service decides from the first start.

The default lending policy, a credit model trained on a seeded synthetic loan book, and
a fraud model trained on seeded simulated card transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from finai import credit, fraud, registry
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


@dataclass(frozen=True)
class DemoResult:
    """What ``load_demo`` added (nothing when the demo content exists already)."""

    policy_version: int | None
    model_version: int | None
    fraud_model_version: int | None = None


def load_demo(
    platform: Platform, progress: Callable[[float, str], None] | None = None
) -> DemoResult:
    """Store the default policy; train, register and promote the demo credit and fraud models.

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
                actor=SYSTEM_ACTOR,
            )
            registry.promote(
                session,
                platform.audit_key,
                name=DEMO_MODEL,
                version=version.version,
                actor=SYSTEM_ACTOR,
            )
            session.commit()
        model_version = version.version
    fraud_version = None if fraud_exists else _train_fraud(platform, progress)
    return DemoResult(policy_version, model_version, fraud_version)


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
            actor=SYSTEM_ACTOR,
        )
        registry.promote(
            session,
            platform.audit_key,
            name=DEMO_FRAUD_MODEL,
            version=version.version,
            actor=SYSTEM_ACTOR,
        )
        session.commit()
    return version.version
