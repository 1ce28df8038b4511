"""The ``finai governance fairness`` contract that scripts rely on."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_ratio
from typer.testing import CliRunner

from finai import credit, governance
from finai.cli import app
from finai.context import Platform
from finai.credit.training import TrainResult
from finai.datasets import LoanBook, load_german
from tests.conftest import MODEL
from tests.factories import promote

GERMAN = Path(
    os.environ.get(
        "FINAI_GERMAN_DATA",
        str(Path(__file__).resolve().parents[2] / "../shared/data/credit/german/german.data"),
    )
)
TOP_KEYS = {
    "model", "policy", "target", "bad", "rows", "settings", "definitions", "overall",
    "attributes", "groups", "disparate_impact", "equal_opportunity_difference",
}  # fmt: skip
GROUP_KEYS = {
    "group", "values", "count", "too_small", "selection_rate", "true_positive_rate",
    "false_positive_rate", "auc", "bad_rate", "intervals", "impact_ratio",
}  # fmt: skip
METRICS = {"selection_rate", "true_positive_rate", "false_positive_rate", "auc", "bad_rate"}


@pytest.fixture
def loans(tmp_path: Path, book: LoanBook) -> Path:
    path = tmp_path / "loans.csv"
    book.frame.head(1_200).to_csv(path, index=False)
    return path


def fairness(cli: CliRunner, *args: str) -> Any:
    result = cli.invoke(app, ["governance", "fairness", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_fairness_json_contract(
    cli: CliRunner, credit_platform: Platform, loans: Path, trained: TrainResult
) -> None:
    report = fairness(
        cli, "--model", MODEL, "--data", str(loans), "--target", "default", "--bad", "1",
        "--protected", "age:25,40,60", "--protected", "sex", "--protected", "nationality",
        "--resamples", "100", "--seed", "5", "--json",
    )  # fmt: skip
    assert set(report) == TOP_KEYS
    assert report["model"] == f"{MODEL}:1"
    assert report["policy"] == {"name": "default", "version": 1, "approve_below": 0.08}
    assert (report["target"], report["bad"], report["rows"]) == ("default", "1", 1_200)
    assert report["settings"] == {
        "min_group": 30, "resamples": 100, "seed": 5, "confidence": 0.95, "four_fifths": 0.8,
    }  # fmt: skip
    names = ["age", "sex", "nationality", "age & sex & nationality"]
    assert list(report["attributes"]) == names
    assert list(report["groups"]) == names
    assert list(report["disparate_impact"]) == names
    assert list(report["equal_opportunity_difference"]) == names
    assert report["attributes"]["age"] == {
        "columns": ["age"], "kind": "bands", "cuts": {"age": [25.0, 40.0, 60.0]},
    }  # fmt: skip
    assert report["attributes"]["sex"]["kind"] == "categories"
    assert report["attributes"]["age & sex & nationality"]["kind"] == "intersection"
    assert [g["group"] for g in report["groups"]["age"]] == ["<25", "25-40", "40-60", ">=60"]
    assert [g["group"] for g in report["groups"]["sex"]] == ["female", "male"]
    for groups in report["groups"].values():
        assert sum(g["count"] for g in groups) == 1_200
        for group in groups:
            assert set(group) == GROUP_KEYS
            assert set(group["intervals"]) == METRICS
            if group["too_small"]:
                assert group["count"] < 30 and group["impact_ratio"] is None
            else:
                low, high = group["intervals"]["selection_rate"]
                assert low <= group["selection_rate"] <= high
    assert any(g["too_small"] for g in report["groups"]["age & sex & nationality"])
    for impact in report["disparate_impact"].values():
        assert {"ratio", "interval", "passes_four_fifths"} <= set(impact)
        assert 0 < impact["ratio"] <= 1
        assert len(impact["interval"]) == 2
        assert impact["passes_four_fifths"] == (impact["ratio"] >= 0.8)
    for opportunity in report["equal_opportunity_difference"].values():
        assert 0 <= opportunity["difference"] <= 1 and len(opportunity["interval"]) == 2
    assert "good" in report["definitions"]["y_true"]
    assert "PD < 0.08" in report["definitions"]["approved"]

    frame = pd.read_csv(loans)
    pd_ = trained.model.predict_pd(trained.model.features(frame))
    y_true = 1 - frame["default"].to_numpy()
    y_pred = (pd_ < 0.08).astype(int)
    assert report["overall"]["selection_rate"] == pytest.approx(y_pred.mean())
    assert report["disparate_impact"]["sex"]["ratio"] == pytest.approx(
        demographic_parity_ratio(y_true, y_pred, sensitive_features=frame["sex"])
    )
    again = fairness(
        cli, "--model", f"{MODEL}:1", "--data", str(loans), "--target", "default",
        "--protected", "age:25,40,60", "--protected", "sex", "--protected", "nationality",
        "--resamples", "100", "--seed", "5", "--json",
    )  # fmt: skip
    assert again == report


def test_fairness_falls_back_to_the_default_policy_and_flags_small_groups(
    cli: CliRunner, platform: Platform, trained: TrainResult, book: LoanBook, loans: Path
) -> None:
    with platform.sessions() as session:
        version = credit.register_model(
            session, platform.audit_key, platform.artifact_dir, name="no-policy",
            result=trained, data=book.frame, actor="t",
        )  # fmt: skip
        promote(session, platform, name="no-policy", version=version.version, actor="t")
        session.commit()
    report = fairness(
        cli, "--model", "no-policy", "--data", str(loans), "--target", "default",
        "--protected", "nationality", "--min-group", "200", "--resamples", "20", "--json",
    )  # fmt: skip
    assert report["policy"] == {"name": "default", "version": None, "approve_below": 0.08}
    assert "built-in default policy" in report["definitions"]["approved"]
    assert list(report["groups"]) == ["nationality"]  # one attribute: no intersection
    small = [g for g in report["groups"]["nationality"] if g["too_small"]]
    assert small and all(g["count"] < 200 and g["impact_ratio"] is None for g in small)


def test_fairness_prints_tables_without_json(
    cli: CliRunner, credit_platform: Platform, loans: Path
) -> None:
    result = cli.invoke(
        app,
        ["governance", "fairness", "--model", MODEL, "--data", str(loans), "--target",
         "default", "--protected", "age:40", "--protected", "sex", "--resamples", "20"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for words in ("age & sex", "<40", ">=40", "female", "four-fifths", "equal-opportunity"):
        assert words in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--protected", "gender"], "protected column 'gender' is not in the table"),
        (["--protected", "sex:25"], "protected column 'sex' has text"),
        (["--protected", "age:60,40"], "cut points of 'age' must be strictly increasing"),
        (["--protected", "sex", "--bad", "yes"], "bad value 'yes' is not a value of target"),
        (["--protected", "sex", "--model", "nope"], "nope"),
    ],
)
def test_fairness_bad_input_is_one_red_line(
    cli: CliRunner, credit_platform: Platform, loans: Path, args: list[str], words: str
) -> None:
    base = ["governance", "fairness", "--model", MODEL, "--data", str(loans), "--target", "default"]
    result = cli.invoke(app, [*base, *args, "--json"])
    assert result.exit_code == 1, result.output
    assert words in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert result.stdout == ""


def test_fairness_refuses_a_target_with_one_class(
    cli: CliRunner, credit_platform: Platform, book: LoanBook, tmp_path: Path
) -> None:
    path = tmp_path / "good-only.csv"
    book.frame[book.frame["default"] == 0].head(300).to_csv(path, index=False)
    result = cli.invoke(
        app,
        ["governance", "fairness", "--model", MODEL, "--data", str(path), "--target",
         "default", "--protected", "sex"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "target 'default' has one value only" in result.stderr


def test_fairness_needs_a_protected_column(
    cli: CliRunner, credit_platform: Platform, loans: Path
) -> None:
    result = cli.invoke(
        app, ["governance", "fairness", "--model", MODEL, "--data", str(loans), "--target", "y"]
    )
    assert result.exit_code == 2
    assert "--protected" in result.output


def test_fairness_on_the_german_credit_data(
    cli: CliRunner, credit_platform: Platform, tmp_path: Path
) -> None:
    if not GERMAN.is_file():
        pytest.skip(f"German credit file not available: {GERMAN}")
    data = tmp_path / "german.csv"
    load_german(GERMAN).to_csv(data, index=False)
    trained = cli.invoke(
        app,
        ["credit", "train", "--data", str(data), "--target", "credit_risk", "--bad", "2",
         "--protected", "age", "--protected", "personal_status_sex", "--protected",
         "foreign_worker", "--model", "scorecard", "--name", "german-credit"],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    report = fairness(
        cli, "--model", "german-credit", "--data", str(data), "--target", "credit_risk",
        "--protected", "age:25", "--protected", "foreign_worker", "--json",
    )  # fmt: skip
    assert report["bad"] == "2" and report["rows"] == 1_000  # the model's bad value
    assert report["settings"] == {
        "min_group": governance.MIN_GROUP, "resamples": 500, "seed": 42, "confidence": 0.95,
        "four_fifths": governance.FOUR_FIFTHS,
    }  # fmt: skip
    assert report["overall"]["bad_rate"] == pytest.approx(0.3)
    counts = {name: {g["group"]: g["count"] for g in groups}
              for name, groups in report["groups"].items()}  # fmt: skip
    assert counts["age"] == {"<25": 149, ">=25": 851}
    assert counts["foreign_worker"] == {"no": 37, "yes": 963}
    assert counts["age & foreign_worker"] == {
        "<25 & no": 3, "<25 & yes": 146, ">=25 & no": 34, ">=25 & yes": 817,
    }  # fmt: skip
    intersection = {g["group"]: g for g in report["groups"]["age & foreign_worker"]}
    assert (
        intersection["<25 & no"]["too_small"] and intersection["<25 & no"]["impact_ratio"] is None
    )
    assert report["disparate_impact"]["age & foreign_worker"]["groups_compared"] == 3
    for name in ("age", "foreign_worker"):
        impact = report["disparate_impact"][name]
        low, high = impact["interval"]
        assert low <= impact["ratio"] <= high
        assert impact["passes_four_fifths"] == (impact["ratio"] >= 0.8)
    rates = [g["selection_rate"] for g in report["groups"]["age"]]
    assert min(rates) / max(rates) == pytest.approx(report["disparate_impact"]["age"]["ratio"])
