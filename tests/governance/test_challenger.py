"""The champion-against-challenger report, against numbers worked out by hand."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from finai import credit, governance, registry
from finai.cli import app
from finai.config import get_settings
from finai.context import Platform
from finai.exceptions import NotFound
from finai.store import CreditDecisionRow, CreditOutcomeRow, CreditShadowRow, utcnow
from tests.conftest import TEST_SECRET

NAN = math.nan
# six decisions: champion and challenger outcome, PD and score, and the reported default
CHAMPION = ["approve", "approve", "refer", "decline", "approve", "decline"]
CHALLENGER = ["approve", "refer", "refer", "decline", "decline", "decline"]
CHAMPION_PD = [0.02, 0.05, 0.10, 0.30, 0.04, 0.40]
CHALLENGER_PD = [0.03, 0.09, 0.12, 0.35, 0.30, 0.50]
DEFAULTED = [0.0, 1.0, NAN, 1.0, 0.0, NAN]


def pairs(**changes: object) -> credit.ShadowPairs:
    values: dict[str, object] = {
        "name": "m",
        "challenger_version": 2,
        "champion_versions": (1,),
        "champion_outcome": np.array(CHAMPION),
        "challenger_outcome": np.array(CHALLENGER),
        "champion_pd": np.array(CHAMPION_PD),
        "challenger_pd": np.array(CHALLENGER_PD),
        "champion_score": np.array([600.0, 580, 560, 520, 590, 500]),
        "challenger_score": np.array([600.0, 580, 560, 520, 590, 500]),
        "defaulted": np.array(DEFAULTED),
    }
    values.update(changes)
    return credit.ShadowPairs(**values)  # type: ignore[arg-type]


def test_agreement_table_mean_pd_and_auc_match_the_hand_computation() -> None:
    report = governance.challenger.compare(pairs())
    assert report.count == 6
    assert report.agreement == pytest.approx(4 / 6)  # rows 1, 3, 4 and 6 agree
    assert report.outcomes == ("approve", "refer", "decline")
    assert report.table == ((1, 1, 1), (0, 1, 0), (0, 0, 2))
    assert report.champion_mean_pd == pytest.approx(0.91 / 6)
    assert report.challenger_mean_pd == pytest.approx(1.39 / 6)
    # outcomes known for rows 1, 2, 4, 5: defaults 2 and 4, repaid 1 and 5
    assert (report.with_outcomes, report.defaults) == (4, 2)
    # champion ranks both defaults (0.05, 0.30) above both repaid (0.02, 0.04): 4 of 4 pairs
    assert report.champion_auc == pytest.approx(1.0)
    # challenger: 0.09 is below repaid 0.30; 3 of the 4 default/repaid pairs are in order
    assert report.challenger_auc == pytest.approx(0.75)
    assert report.auc_note is None
    assert report.psi == pytest.approx(0.0)  # identical scores


def test_psi_of_the_scores_matches_the_hand_computation() -> None:
    champion = np.arange(1.0, 11.0)  # deciles: one champion score per bin, shares 0.1
    report = governance.challenger.compare(
        pairs(
            champion_outcome=np.array(["approve"] * 10),
            challenger_outcome=np.array(["approve"] * 10),
            champion_pd=np.full(10, 0.05),
            challenger_pd=np.full(10, 0.05),
            champion_score=champion,
            challenger_score=np.full(10, 10.0),  # every challenger score in the top bin
            defaulted=np.full(10, NAN),
        )
    )
    floor = 1e-4  # an empty bin's share is raised to it
    expected = 9 * (floor - 0.1) * math.log(floor / 0.1) + (1.0 - 0.1) * math.log(1.0 / 0.1)
    assert report.psi == pytest.approx(expected)
    assert report.psi == pytest.approx(credit.psi(champion, np.full(10, 10.0)))


@pytest.mark.parametrize(
    "defaulted", [[NAN] * 6, [0.0, 0.0, NAN, 0.0, 0.0, NAN], [1.0, 1.0, 1.0, 1.0, NAN, NAN]]
)
def test_no_auc_with_too_few_outcomes(defaulted: list[float]) -> None:
    report = governance.challenger.compare(pairs(defaulted=np.array(defaulted)))
    assert (report.champion_auc, report.challenger_auc) == (None, None)
    assert report.auc_note is not None and report.auc_note.startswith("too few outcomes")
    assert report.agreement == pytest.approx(4 / 6)


def test_no_pairs_give_an_empty_report() -> None:
    empty = np.array([], dtype=np.float64)
    report = governance.challenger.compare(
        pairs(
            challenger_version=None,
            champion_versions=(),
            champion_outcome=np.array([], dtype=np.str_),
            challenger_outcome=np.array([], dtype=np.str_),
            champion_pd=empty,
            challenger_pd=empty,
            champion_score=empty,
            challenger_score=empty,
            defaulted=empty,
        )
    )
    assert report.count == 0
    assert (report.agreement, report.psi, report.champion_mean_pd) == (None, None, None)
    assert report.table == ((0, 0, 0), (0, 0, 0), (0, 0, 0))
    json.dumps(report.to_dict(), allow_nan=False)


def store_pairs(platform: Platform) -> None:
    """Model ``m``: v1 champion's decisions, v2's shadow answers, v3 challenging now."""
    with platform.sessions() as session:
        for _ in range(3):
            registry.register(
                session,
                platform.audit_key,
                platform.artifact_dir,
                name="m",
                model=b"x",
                kind="test",
                actor="t",
            )
        now = utcnow()
        for i, (outcome, shadow) in enumerate(zip(CHAMPION, CHALLENGER, strict=True)):
            decision_id = f"{i:032x}"
            session.add(
                CreditDecisionRow(
                    id=decision_id, created_at=now + timedelta(seconds=i), actor="t",
                    model_name="m", model_version=1, policy_version=1, input_hash="0" * 64,
                    outcome=outcome, pd=CHAMPION_PD[i], score=600.0 - i, currency="EUR",
                    reasons=[], knockouts=[],
                )
            )  # fmt: skip
            session.flush()
            session.add(
                CreditShadowRow(
                    decision_id=decision_id, created_at=now, model_name="m", model_version=2,
                    outcome=shadow, pd=CHALLENGER_PD[i], score=600.0 - i,
                )
            )  # fmt: skip
            if not math.isnan(DEFAULTED[i]):
                session.add(
                    CreditOutcomeRow(
                        decision_id=decision_id, defaulted=bool(DEFAULTED[i]), observed_at=now,
                        recorded_at=now, actor="t",
                    )
                )  # fmt: skip
        session.commit()


def test_comparison_reads_stored_decisions_shadow_answers_and_outcomes(
    platform: Platform,
) -> None:
    store_pairs(platform)
    with platform.sessions() as session:
        report = governance.comparison(session, "m")  # no challenger: the latest that answered
        assert report == governance.challenger.compare(pairs(champion_score=np.array(
            [600.0, 599, 598, 597, 596, 595]), challenger_score=np.array(
            [600.0, 599, 598, 597, 596, 595])))  # fmt: skip
        registry.challenge(session, platform.audit_key, name="m", version=3, actor="t")
        session.commit()
        assert governance.comparison(session, "m").count == 0  # v3 has not answered yet
        assert governance.comparison(session, "m", 2).count == 6
        with pytest.raises(NotFound):
            governance.comparison(session, "nope")
        with pytest.raises(NotFound):
            governance.comparison(session, "m", 9)


@pytest.fixture
def cli(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("FINAI_DATABASE_URL", platform.settings.db_url)
    monkeypatch.setenv("FINAI_HOME", str(platform.settings.home))
    monkeypatch.setenv("FINAI_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("FINAI_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_prints_the_report_as_json_and_as_tables(cli: CliRunner, platform: Platform) -> None:
    store_pairs(platform)
    result = cli.invoke(app, ["governance", "challenger", "--model", "m", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["count"] == 6
    assert body["table"] == [[1, 1, 1], [0, 1, 0], [0, 0, 2]]
    assert body["challenger_auc"] == pytest.approx(0.75)
    text = cli.invoke(app, ["governance", "challenger", "--model", "m"])
    assert text.exit_code == 0, text.output
    assert "agreement 66.7%" in text.stdout
    assert "challenger 0.750" in text.stdout
    missing = cli.invoke(app, ["governance", "challenger", "--model", "nope"])
    assert missing.exit_code == 1
    assert "no model named 'nope'" in missing.stderr
    assert "Traceback" not in missing.output
