"""The ``finai credit`` contract that scripts rely on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from finai import credit, governance
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
    with credit_platform.sessions() as session:
        card = governance.model_card(session, "cli-model", 1)
    assert card.written_by == "cli"  # the card is stored as the version is registered
    assert shown[0]["data_fingerprint"] in card.markdown


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


SPEC_YAML = """\
target: outcome_that_the_flag_replaces
bad: 1
id: applicant_id
drop: [region, home_ownership]
protected: [age, sex, nationality]
categorical: [term_months]
monotone:
  monthly_debt: +1
labels:
  monthly_income: Monthly income
  term_months: Loan term
  age: Age in years
"""


def test_train_reads_a_yaml_spec_and_flags_replace_its_values(
    cli: CliRunner,
    credit_platform: Platform,
    loans: Path,
    tmp_path: Path,
) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC_YAML)
    result = cli.invoke(
        app,
        [
            "credit", "train", "--data", str(loans), "--spec", str(spec_path),
            "--target", "default", "--drop", "region", "--monotone", "monthly_income=-1",
            "--monotone", "inquiries_6m=increasing", "--model", "scorecard", "--folds", "2",
            "--name", "spec-model",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "registered spec-model:1 (scorecard)" in result.stdout
    shown = json.loads(cli.invoke(app, ["models", "show", "spec-model:1", "--json"]).stdout)
    spec = shown[0]["params"]["spec"]
    assert spec["target"] == "default" and spec["id"] == "applicant_id"
    assert spec["drop"] == ["region"]
    assert spec["protected"] == ["age", "sex", "nationality"]
    assert "home_ownership" in spec["categorical"] and "term_months" in spec["categorical"]
    assert spec["monotone"] == {"monthly_income": -1, "inquiries_6m": 1}
    assert spec["labels"]["term_months"] == "Loan term"
    with credit_platform.sessions() as session:
        _info, model = credit.load_model(session, credit_platform.artifact_dir, "spec-model")
    assert model.spec.labels == {
        "monthly_income": "Monthly income",
        "term_months": "Loan term",
        "age": "Age in years",
    }
    assert "age" not in model.spec.features


def test_train_takes_the_target_from_the_spec_and_types_from_flags(
    cli: CliRunner,
    credit_platform: Platform,
    loans: Path,
    tmp_path: Path,
) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text("target: default\nid: applicant_id\nprotected: [age, sex, nationality]\n")
    result = cli.invoke(
        app,
        [
            "credit", "train", "--data", str(loans), "--spec", str(spec_path),
            "--numeric", "monthly_income", "--numeric", "monthly_debt",
            "--categorical", "purpose", "--model", "scorecard", "--folds", "2",
            "--name", "typed",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(cli.invoke(app, ["models", "show", "typed:1", "--json"]).stdout)
    spec = shown[0]["params"]["spec"]
    # Both types declared: the features are exactly the columns named.
    assert (spec["numeric"], spec["categorical"]) == (
        ["monthly_income", "monthly_debt"],
        ["purpose"],
    )


@pytest.mark.parametrize(
    ("yaml_text", "flags", "words"),
    [
        (None, ["--target", "default", "--numeric", "age", "--categorical", "age"],
         "column 'age' cannot be both categorical and numeric"),
        (None, ["--target", "default", "--id", "age", "--protected", "age"],
         "column 'age' cannot be both id and protected"),
        (None, ["--target", "default", "--drop", "default"],
         "column 'default' cannot be both target and drop"),
        (None, ["--target", "default", "--monotone", "monthly_income"],
         "monotone must map column names to \\+1 or -1; the entry 'monthly_income'"),
        (None, ["--target", "default", "--monotone", "monthly_income=up"],
         "monotone direction of 'monthly_income' must be \\+1 or -1, got 'up'"),
        ("target: default\ncolour: red\n", [], "unknown spec keys 'colour'"),
        ("target: [default\n", [], r"cannot read spec '.*spec.yaml': expected ',' or '\]'"),
        ("- default\n", [], "spec '.*spec.yaml' must be a YAML mapping"),
        ("bad: 1\n", [], "spec needs target"),
        ("target: default\nlabels: {default: Outcome}\n", [],
         "label of column 'default': only feature and protected columns take labels"),
        ("target: default\nlabels: {age: ''}\n", [], "label of column 'age' is empty"),
        ("target: default\nlabels: {income: Income}\n", [],
         "labelled column 'income' is not in the table"),
        ("target: default\nprotected: [sex]\n", ["--protected", "nope"],
         "protected column 'nope' is not in the table"),
    ],
)  # fmt: skip
def test_train_refuses_bad_specs_in_one_line_and_registers_nothing(
    cli: CliRunner,
    credit_platform: Platform,
    loans: Path,
    tmp_path: Path,
    yaml_text: str | None,
    flags: list[str],
    words: str,
) -> None:
    spec_flags: list[str] = []
    if yaml_text is not None:
        (tmp_path / "spec.yaml").write_text(yaml_text)
        spec_flags = ["--spec", str(tmp_path / "spec.yaml")]
    result = cli.invoke(
        app,
        ["credit", "train", "--data", str(loans), *spec_flags, *flags, "--name", "refused"],
    )
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert re.search(words, errors[0]), errors[0]
    assert "Traceback" not in result.output
    assert cli.invoke(app, ["models", "show", "refused"]).exit_code == 1


def test_train_needs_a_target_from_the_flag_or_the_spec(
    cli: CliRunner,
    credit_platform: Platform,
    loans: Path,
    tmp_path: Path,
) -> None:
    usage = cli.invoke(app, ["credit", "train", "--data", str(loans), "--name", "x"])
    assert usage.exit_code == 2
    assert "--target" in usage.output
    missing = cli.invoke(
        app,
        ["credit", "train", "--data", str(loans), "--spec", str(tmp_path / "no.yaml"),
         "--name", "x"],
    )  # fmt: skip
    assert missing.exit_code == 1
    assert "spec file" in missing.stderr and "no.yaml' does not exist" in missing.stderr


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
        "applicant_id", "pd", "score", "outcome", "limit", "currency", "reasons", "model",
        "policy_version",
    ]  # fmt: skip
    assert set(scored["model"]) == {f"{MODEL}:1"}
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
