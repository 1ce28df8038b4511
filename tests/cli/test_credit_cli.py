"""The ``finai credit`` contract that scripts rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from finai.cli import app
from finai.context import Platform
from finai.datasets import LoanBook
from tests.conftest import MODEL


@pytest.fixture
def loans(tmp_path: Path, book: LoanBook) -> Path:
    path = tmp_path / "loans.csv"
    book.frame.head(1_200).to_csv(path, index=False)
    return path


def test_train_registers_and_prints_cv_metrics(
    cli: CliRunner,
    credit_platform: Platform,
    loans: Path,
) -> None:
    result = cli.invoke(
        app,
        [
            "credit", "train", "--data", str(loans), "--target", "default", "--bad", "1",
            "--id", "applicant_id", "--drop", "region", "--protected", "sex",
            "--protected", "nationality", "--model", "scorecard", "--name", "cli-model",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "registered cli-model:1 (scorecard)" in result.stdout
    assert "AUC" in result.stdout
    shown = json.loads(cli.invoke(app, ["models", "show", "cli-model:1", "--json"]).stdout)
    spec = shown[0]["params"]["spec"]
    assert spec["protected"] == ["sex", "nationality"]
    assert "region" not in spec["categorical"] and "sex" not in spec["categorical"]


def test_train_bad_input_is_one_line(
    cli: CliRunner,
    credit_platform: Platform,
    loans: Path,
    tmp_path: Path,
) -> None:
    missing = cli.invoke(
        app, ["credit", "train", "--data", str(loans), "--target", "nope", "--name", "x"]
    )
    assert missing.exit_code == 1
    assert "nope" in missing.stderr
    assert "Traceback" not in missing.output
    absent = cli.invoke(
        app,
        ["credit", "train", "--data", str(tmp_path / "no.csv"), "--target", "d", "--name", "x"],
    )
    assert absent.exit_code == 1
    assert "no.csv" in absent.stderr
    wrong_model = cli.invoke(
        app,
        ["credit", "train", "--data", str(loans), "--target", "default", "--name", "x",
         "--model", "forest"],
    )  # fmt: skip
    assert wrong_model.exit_code == 2
    assert cli.invoke(app, ["models", "show", "x"]).exit_code == 1


def test_evaluate_json_contract(
    cli: CliRunner,
    credit_platform: Platform,
    loans: Path,
) -> None:
    result = cli.invoke(
        app,
        ["credit", "evaluate", "--model", f"{MODEL}:1", "--data", str(loans),
         "--target", "default", "--bad", "1", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"auc", "gini", "ks", "brier", "n"} <= report.keys()
    assert report["n"] == 1_200
    assert 0.6 < report["auc"] < 1
    assert report["gini"] == pytest.approx(2 * report["auc"] - 1)
    assert report["psi"] < 0.1


def test_score_writes_every_row(
    cli: CliRunner,
    credit_platform: Platform,
    loans: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "scored.csv"
    result = cli.invoke(
        app,
        ["credit", "score", "--model", MODEL, "--data", str(loans), "--out", str(out),
         "--chunk-rows", "1000"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert len(scored) == 1_200
    assert list(scored.columns) == [
        "applicant_id", "pd", "score", "outcome", "limit", "currency", "reasons",
    ]  # fmt: skip
    assert set(scored["outcome"]) <= {"approve", "refer", "decline"}
    assert scored["pd"].between(0, 1).all()
    assert "scored 1200 rows" in result.stderr


def test_explain_one_row(
    cli: CliRunner,
    credit_platform: Platform,
    loans: Path,
) -> None:
    result = cli.invoke(
        app, ["credit", "explain", "--model", MODEL, "--data", str(loans), "--row", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "PD 0." in result.stdout
    assert "monthly_income" in result.stdout
    past = cli.invoke(
        app, ["credit", "explain", "--model", MODEL, "--data", str(loans), "--row", "5000"]
    )
    assert past.exit_code == 1
    assert "past the end" in past.stderr
