"""Model cards: built from stored facts, stored with their hash, rewritten as facts change."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from sqlalchemy import select

from finai import credit, fraud, governance, registry
from finai.context import Platform
from finai.credit.training import TrainResult
from finai.datasets import LoanBook
from finai.registry import ModelVersion, Stage
from finai.security import audit
from finai.store import ModelCardRow
from tests.factories import approve, promote

NAME = "pd-card"


def _register(platform: Platform, trained: TrainResult, book: LoanBook) -> ModelVersion:
    with platform.sessions() as session:
        version = credit.register_model(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name=NAME,
            result=trained,
            data=book.frame,
            actor="trainer",
        )
        written = governance.write_cards(
            session, name=NAME, actor="trainer", versions=[version.version]
        )
        session.commit()
    assert [c.version for c in written] == [version.version]
    return version


def test_a_registered_credit_version_gets_a_card_of_its_facts(
    platform: Platform, trained: TrainResult, book: LoanBook
) -> None:
    version = _register(platform, trained, book)
    with platform.sessions() as session:
        card = governance.model_card(session, NAME, version.version)
        row = session.scalars(select(ModelCardRow)).one()
    assert card.written_by == "trainer" and card.written_at is not None
    assert card.sha256 == row.sha256 == hashlib.sha256(card.markdown.encode()).hexdigest()
    md = card.markdown
    assert md.startswith(f"# Model card: {NAME} v1\n")
    assert version.data_fingerprint is not None
    assert version.data_fingerprint in md and version.data_fingerprint in card.html
    assert "probability of default" in md
    assert f"| Rows | {len(book.frame)} |" in md
    assert f"| auc | {version.metrics['auc']:.4g} |" in md
    assert f"| ks | {version.metrics['ks']:.4g} |" in md
    assert f"| gini | {version.metrics['gini']:.4g} |" in md
    assert f"- brier = {version.metrics['brier']:.4g}" in md
    assert f"| Seed | {trained.seed} |" in md
    assert "No fairness report is recorded for this version" in md
    assert f"finai governance fairness --model {NAME}:1" in md
    assert "No approvals yet" in md
    assert "## Limitations" in md
    assert 'data-metric="auc"' in card.html


def test_the_card_is_rewritten_after_approval_and_promotion(
    platform: Platform, trained: TrainResult, book: LoanBook
) -> None:
    _register(platform, trained, book)
    with platform.sessions() as session:
        first = governance.model_card(session, NAME, 1)
        approve(
            session,
            platform,
            name=NAME,
            version=1,
            comment="Checked the holdout AUC.\n<script>alert(1)</script> & more",
        )
        governance.write_cards(session, name=NAME, actor="reviewer", versions=[1])
        session.commit()
        approved = governance.model_card(session, NAME, 1)
        assert approved.sha256 != first.sha256
        assert approved.written_by == "reviewer"
        assert "approved by reviewer" in approved.markdown
        assert "> Checked the holdout AUC." in approved.markdown
        assert "\\<script\\>" in approved.markdown
        assert "<script" not in approved.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in approved.html
        assert "candidate" in approved.markdown
        # an unchanged card is left as it is
        assert governance.write_cards(session, name=NAME, actor="x", versions=[1]) == []
        promote(session, platform, name=NAME, version=1, actor="operator")
        governance.write_cards(session, name=NAME, actor="operator", versions=[1])
        session.commit()
        champion = governance.model_card(session, NAME)
        assert champion.version == 1
        assert "| Stage | champion |" in champion.markdown
        assert "candidate → champion by operator" in champion.markdown
        rows = session.scalars(select(ModelCardRow)).all()
        assert len(rows) == 1 and rows[0].sha256 == champion.sha256


def test_the_newest_fairness_report_shows_on_the_card(
    platform: Platform, trained: TrainResult, book: LoanBook
) -> None:
    version = _register(platform, trained, book)
    with platform.sessions() as session:
        for ratio, passes in ((0.5, False), (0.72, False)):
            audit.append(
                session,
                platform.audit_key,
                actor="analyst",
                action="model.fairness",
                object_type="model_version",
                object_id=f"{NAME}:1",
                payload={
                    "data_fingerprint": version.data_fingerprint,
                    "attributes": {
                        "age": {
                            "ratio": ratio,
                            "interval": [0.6, 0.81],
                            "passes_four_fifths": passes,
                        },
                        "foreign_worker": {
                            "ratio": None,
                            "interval": None,
                            "passes_four_fifths": None,
                        },
                    },
                },
            )
        written = governance.write_cards(session, name=NAME, actor="analyst")
        session.commit()
        assert [c.version for c in written] == [1]
        md = governance.model_card(session, NAME, 1).markdown
    assert "on the training data" in md
    assert "| age | 0.72 | 0.6 .. 0.81 | fails |" in md
    assert "| foreign\\_worker | - | - | - |" in md
    assert "No fairness report" not in md


def test_a_fraud_card_names_its_windows_and_rows() -> None:
    when = datetime(2026, 7, 1, tzinfo=UTC)
    version = ModelVersion(
        name="fraud-x",
        version=3,
        stage=Stage.CHALLENGER,
        kind=fraud.KIND,
        sha256="ab" * 32,
        size_bytes=10,
        data_fingerprint="cd" * 32,
        params={
            "algorithm": "lightgbm",
            "fit_rows": 1200,
            "validation_rows": 300,
            "windows": {
                "fit": {"start": "2026-04-01", "end": "2026-06-01"},
                "validation": {"start": "2026-06-08", "end": "2026-06-29"},
            },
            "thresholds": {"review": 0.3, "block": 0.9, "method": "budget"},
        },
        metrics={"roc_auc": 0.91, "average_precision": 0.5, "card_precision_at_100": 0.2},
        seed=7,
        libraries={"python": "3.11"},
        created_at=when,
        created_by="trainer",
        promoted_at=None,
    )
    facts = governance.CardFacts(version=version, approvals=[], history=[], fairness=None)
    card = governance.render_card(facts)
    assert "Scores a card transaction for fraud risk" in card.markdown
    assert "| Rows fitted | 1200 |" in card.markdown
    assert "| Validation window | 2026-06-08 .. 2026-06-29 |" in card.markdown
    assert "| roc\\_auc | 0.91 |" in card.markdown
    assert "| Stage | challenger |" in card.markdown
    assert "No calibration statistic is recorded" in card.markdown
    assert card.sha256 == hashlib.sha256(card.markdown.encode()).hexdigest()
    for forbidden in ("<script", "<style", "style=", "http://", "https://", "src="):
        assert forbidden not in card.html.lower()
    assert re.search(r"<[^>]*\son\w+\s*=", card.html) is None


def test_a_version_without_a_stored_card_is_rendered_on_request(platform: Platform) -> None:
    with platform.sessions() as session:
        registry.register(
            session,
            platform.audit_key,
            platform.artifact_dir,
            name="plain",
            model={"a": 1},
            kind="test.dict",
            actor="t",
            metrics={"auc": 0.7},
        )
        session.commit()
        card = governance.model_card(session, "plain")
        assert card.written_at is None
        assert "No intended use is recorded for models of kind 'test.dict'" in card.markdown
        assert session.scalars(select(ModelCardRow)).all() == []
