"""``finai credit outcomes`` and ``finai governance monitoring``: tables in, a report out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from finai import credit, governance
from finai.cli import app
from finai.context import Platform
from finai.store import AuditEntryRow, CreditOutcomeRow
from tests.credit.test_outcomes import MODEL, store_decisions, stored
from tests.factories import register_versions

JAN = datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.fixture
def decided(platform: Platform) -> list[str]:
    """A credit model ``pd-watch`` v1 (AUC 0.85, KS 0.6) and four January decisions."""
    register_versions(platform, [{"auc": 0.85, "ks": 0.6}], name=MODEL, kind=credit.KIND)
    return store_decisions(platform, [0.1, 0.2, 0.3, 0.4], at=JAN)


def outcomes_cli(cli: CliRunner, path: Path) -> Any:
    return cli.invoke(app, ["credit", "outcomes", str(path)])


def count(platform: Platform, table: type, **where: str) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(getattr(table, column) == value)
    with platform.sessions() as session:
        return int(session.scalar(query) or 0)


def test_outcomes_from_csv(
    cli: CliRunner, platform: Platform, decided: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "outcomes.csv"
    pd.DataFrame(
        {
            "decision_id": decided,
            "defaulted": ["no", "YES", "0", "true"],
            "observed_at": ["2026-06-01", "2026-06-01T10:00:00+02:00", "", None],
        }
    ).to_csv(path, index=False)
    before = datetime.now(UTC)
    result = outcomes_cli(cli, path)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        f"4 outcomes from {path}: recorded 4, updated 0, unchanged 0, stale 0"
    )
    rows = stored(platform)
    assert [rows[d][0] for d in decided] == [False, True, False, True]
    # no zone means UTC; another zone is converted; empty means now
    assert rows[decided[0]][1] == datetime(2026, 6, 1, tzinfo=UTC)
    assert rows[decided[1]][1] == datetime(2026, 6, 1, 8, tzinfo=UTC)
    assert rows[decided[2]][1] >= before and rows[decided[3]][1] >= before
    assert {actor for _, _, actor in rows.values()} == {"cli"}
    again = outcomes_cli(cli, path)
    assert "recorded 0, updated 0, unchanged 4, stale 0" in again.stderr


def test_outcomes_from_parquet_in_batches_of_ten_thousand(
    cli: CliRunner, platform: Platform, tmp_path: Path
) -> None:
    ids = store_decisions(platform, [0.1] * 10_050, at=JAN)
    path = tmp_path / "outcomes.parquet"
    pd.DataFrame(
        {"decision_id": ids, "defaulted": [i % 4 == 0 for i in range(len(ids))]}
    ).to_parquet(path)
    result = outcomes_cli(cli, path)
    assert result.exit_code == 0, result.output
    assert "recorded 10,050" in result.stderr
    assert count(platform, CreditOutcomeRow) == 10_050
    assert count(platform, AuditEntryRow, action="credit.outcomes") == 2


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"decision_id": ["x"]}, "the table has no defaulted column"),
        ({"id": ["x"], "default": [1]}, "the table has no decision_id or defaulted column"),
        ({"decision_id": ["DECIDED", "DECIDED"], "defaulted": [1, 0]}, "more than once"),
        ({"decision_id": ["DECIDED", "b" * 32], "defaulted": [1, "maybe"]}, "row 2: defaulted"),
        ({"decision_id": ["DECIDED"], "defaulted": [1], "observed_at": ["soon"]}, "row 1: obs"),
        ({"decision_id": ["DECIDED", ""], "defaulted": [1, 0]}, "row 2: decision_id is empty"),
        ({"decision_id": ["DECIDED", "b" * 32], "defaulted": [1, 0]}, "1 unknown decision id"),
        (
            {"decision_id": ["DECIDED"], "defaulted": [1], "observed_at": ["2025-01-01"]},
            "before the decision",
        ),
    ],
    ids=[
        "no-verdict",
        "no-columns",
        "twice",
        "verdict",
        "time",
        "empty-id",
        "unknown",
        "early",
    ],
)
def test_bad_tables_store_nothing(
    cli: CliRunner,
    platform: Platform,
    decided: list[str],
    tmp_path: Path,
    table: dict[str, list[object]],
    message: str,
) -> None:
    path = tmp_path / "outcomes.csv"
    frame = pd.DataFrame(table).replace("DECIDED", decided[0])
    frame.to_csv(path, index=False)
    result = outcomes_cli(cli, path)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert count(platform, CreditOutcomeRow) == 0


def test_a_missing_file_is_one_line(cli: CliRunner, platform: Platform, tmp_path: Path) -> None:
    result = outcomes_cli(cli, tmp_path / "nowhere.csv")
    assert result.exit_code == 1
    assert "does not exist" in result.stderr


def test_monitoring_json_is_the_domain_report(
    cli: CliRunner, platform: Platform, decided: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "outcomes.csv"
    frame = {"decision_id": decided, "defaulted": [0, 1, 0, 1], "observed_at": ["2026-06-01"] * 4}
    pd.DataFrame(frame).to_csv(path, index=False)
    assert outcomes_cli(cli, path).exit_code == 0
    result = cli.invoke(app, ["governance", "monitoring", "--model", MODEL, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    with platform.sessions() as session:
        assert data == governance.vintage_report(session, MODEL).to_dict()
    # the command's defaults are the domain's
    assert data["settings"] == {
        "min_outcomes": governance.MIN_OUTCOMES,
        "auc_tolerance": governance.AUC_TOLERANCE,
        "ks_tolerance": governance.KS_TOLERANCE,
        "confidence": governance.ALERT_CONFIDENCE,
    }
    assert data["alerts"] == [] and data["vintages"][0]["too_small"] is True
    small = cli.invoke(
        app, ["governance", "monitoring", "--model", f"{MODEL}:1", "--min-outcomes", "4", "--json"]
    )
    alerts = json.loads(small.stdout)["alerts"]
    assert [(a["vintage"], a["metric"]) for a in alerts] == [
        ("2026-01", "auc"), ("2026-01", "ks"), ("all", "auc"), ("all", "ks"),
    ]  # fmt: skip


def test_monitoring_table_and_errors(
    cli: CliRunner, platform: Platform, decided: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "outcomes.csv"
    pd.DataFrame({"decision_id": decided, "defaulted": [0, 1, 0, 1]}).to_csv(path, index=False)
    assert outcomes_cli(cli, path).exit_code == 0
    result = cli.invoke(
        app, ["governance", "monitoring", "--model", MODEL, "--min-outcomes", "4"],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "pd-watch:1 (candidate): training AUC 0.850, KS 0.600" in result.stdout
    assert "2026-01" in result.stdout and "0.750" in result.stdout
    assert "alert: AUC 0.750 in vintage 2026-01 is more than 0.05 below" in result.stdout
    quiet = cli.invoke(app, ["governance", "monitoring", "--model", MODEL], env={"COLUMNS": "200"})
    assert "no alerts" in quiet.stdout and "small" in quiet.stdout
    missing = cli.invoke(app, ["governance", "monitoring", "--model", "nope"])
    assert (missing.exit_code, missing.stderr.strip()) == (1, "error: no model named 'nope'")
    bad = cli.invoke(app, ["governance", "monitoring", "--model", MODEL, "--confidence", "2"])
    assert bad.exit_code == 2
