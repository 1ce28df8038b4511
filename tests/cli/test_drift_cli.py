"""``finai governance drift``: the JSON contract, the table, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from finai import credit, governance, registry
from finai.cli import app
from finai.context import Platform
from finai.credit.training import TrainResult
from finai.datasets import LoanBook
from finai.security import audit
from tests.conftest import MODEL

KEYS = {"model", "version", "rows", "score", "features", "status", "window"}


@pytest.fixture
def current(tmp_path: Path, book: LoanBook) -> Path:
    path = tmp_path / "current.csv"
    shifted = book.frame.head(500).copy()
    shifted["monthly_income"] = shifted["monthly_income"] * 3
    shifted.to_csv(path, index=False)
    return path


def drift(cli: CliRunner, *args: str) -> Any:
    result = cli.invoke(app, ["governance", "drift", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, ["governance", "drift", *args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


def test_current_json_contract(
    cli: CliRunner, credit_platform: Platform, current: Path, trained: TrainResult, book: LoanBook
) -> None:
    report = drift(cli, "--model", MODEL, "--current", str(current), "--json")
    assert set(report) == KEYS
    expected = governance.drift_report(
        trained.model, credit.load_table(current), name=MODEL, version=1
    )
    assert (report["model"], report["version"], report["rows"]) == (MODEL, 1, 500)
    assert report["score"] == {"psi": pytest.approx(expected.score.psi), "band": "act"}
    assert report["features"][0] == {
        "feature": "monthly_income",
        "psi": pytest.approx(expected.features[0].psi),
        "band": "act",
    }
    assert [f["feature"] for f in report["features"]] == [f.feature for f in expected.features]
    psis = [f["psi"] for f in report["features"]]
    assert psis == sorted(psis, reverse=True)
    assert report["status"] == "act" and report["window"] is None
    with credit_platform.sessions() as session:
        checks = governance.list_checks(session, MODEL)
        entries = audit.entries(session, action="model.drift_check")
    assert [(c.source, c.actor, c.report.rows) for c in checks] == [("file", "cli", 500)]
    assert len(entries) == 1


def test_stored_check_and_table(cli: CliRunner, credit_platform: Platform, book: LoanBook) -> None:
    with credit_platform.sessions() as session:
        credit.decide_and_record(
            session, credit_platform.audit_key, credit_platform.artifact_dir,
            book.frame.head(80), model_ref=MODEL, actor="t",
        )  # fmt: skip
        session.commit()
    report = drift(cli, "--model", f"{MODEL}:1", "--stored", "--days", "3", "--json")
    assert report["rows"] == 80 and set(report["window"]) == {"start", "end"}
    table = cli.invoke(app, ["governance", "drift", "--model", MODEL, "--stored"])
    assert table.exit_code == 0, table.output
    assert f"{MODEL}:1" in table.output and "80 rows" in table.output
    assert "score" in table.output and "monthly_income" in table.output
    with credit_platform.sessions() as session:
        assert [c.source for c in governance.list_checks(session, MODEL)] == ["stored", "stored"]


def test_errors_are_one_line(
    cli: CliRunner, credit_platform: Platform, current: Path, tmp_path: Path
) -> None:
    with credit_platform.sessions() as session:
        registry.register(
            session, credit_platform.audit_key, credit_platform.artifact_dir,
            name="fraudish", model={"not": "credit"}, kind="fraud.model", actor="t",
        )  # fmt: skip
        session.commit()
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    assert "does not exist" in refused(
        cli, "--model", MODEL, "--current", str(tmp_path / "nope.csv")
    )
    assert "missing feature columns" in refused(cli, "--model", MODEL, "--current", str(wrong))
    assert "not a credit model" in refused(cli, "--model", "fraudish", "--current", str(current))
    assert "no stored decision" in refused(cli, "--model", MODEL, "--stored")
    assert "either --current" in refused(cli, "--model", MODEL)
    assert "either --current" in refused(cli, "--model", MODEL, "--stored", "--current", "x.csv")
    assert "--days goes with --stored" in refused(
        cli, "--model", MODEL, "--current", str(current), "--days", "3"
    )
    with credit_platform.sessions() as session:
        assert governance.list_checks(session, MODEL) == []
