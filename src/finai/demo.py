"""Demo content for a fresh install, so the service decides from the first start.

The default lending policy and a credit model trained on a seeded synthetic loan book.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from finai import credit, registry
from finai.context import Platform
from finai.datasets import make_loan_book
from finai.exceptions import NotFound
from finai.security.audit import SYSTEM_ACTOR
from finai.store import ModelVersionRow

DEMO_MODEL = "credit-demo"
DEMO_ROWS = 5_000
DEMO_SEED = 7


@dataclass(frozen=True)
class DemoResult:
    """What ``load_demo`` added (nothing when the demo content exists already)."""

    policy_version: int | None
    model_version: int | None


def load_demo(
    platform: Platform, progress: Callable[[float, str], None] | None = None
) -> DemoResult:
    """Store the default policy and train, register and promote the demo credit model.

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
        exists = session.scalar(
            select(ModelVersionRow.id).where(ModelVersionRow.name == DEMO_MODEL).limit(1)
        )
    if exists is None:
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
    return DemoResult(policy_version, model_version)
