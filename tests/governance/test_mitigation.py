"""Fairness mitigation: a constrained candidate, its trade-off table and its reasons."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from scipy.special import logit
from sklearn.model_selection import train_test_split
from typer.testing import CliRunner

from finai import credit, governance, registry
from finai.cli import app
from finai.config import get_settings
from finai.context import Platform
from finai.datasets import LoanBook
from finai.exceptions import ValidationError
from finai.governance import ProtectedAttribute
from finai.security import audit
from tests.conftest import MODEL, TEST_SECRET

ROWS = 1500
PROTECTED = ["age:25,40", "sex"]


@pytest.fixture(scope="module")
def loans(book: LoanBook) -> pd.DataFrame:
    return book.frame.head(ROWS).copy()


def run(platform: Platform, frame: pd.DataFrame, **kwargs: object) -> governance.Mitigation:
    options: dict[str, object] = {
        "model_ref": MODEL,
        "target": "default",
        "protected": PROTECTED,
        "actor": "t",
        **kwargs,
    }
    with platform.sessions() as session:
        result = governance.mitigate(
            session,
            platform.audit_key,
            platform.artifact_dir,
            frame,
            **options,  # type: ignore[arg-type]
        )
        session.commit()
    return result


def test_reasons_add_up_to_the_log_odds_of_the_pd(book: LoanBook) -> None:
    data = credit.prepare(book.frame.head(800), book.spec)
    groups = book.frame["sex"].head(800)
    for constraint in (None, "demographic_parity"):
        model = governance.MitigatedModel(constraint=constraint, cutoff=0.08).fit(  # type: ignore[arg-type]
            data.X, data.y, sensitive_features=groups
        )
        assessment = model.assess(data.X)
        pd_ = assessment.pd
        inside = (pd_ > 1e-4) & (pd_ < 1 - 1e-4)
        # each feature's share against the average applicant: the rest is one constant
        base = logit(pd_[inside]) - assessment.harm[inside].sum(axis=1)
        assert np.ptp(base) == pytest.approx(0.0, abs=1e-9)
        assert np.array_equal(model.predict(data.X), (pd_ >= 0.08).astype(int))
        assert model.predict_proba(data.X)[:, 1] == pytest.approx(pd_)


def test_the_unconstrained_pd_is_calibrated_on_average(book: LoanBook) -> None:
    data = credit.prepare(book.frame, book.spec)
    model = governance.MitigatedModel(constraint=None, cutoff=0.08).fit(data.X, data.y)
    # the cost weighting is taken back out: the mean PD is near the bad rate
    assert model.predict_proba(data.X)[:, 1].mean() == pytest.approx(data.y.mean(), abs=0.02)


def test_the_candidate_never_reads_a_protected_attribute(
    credit_platform: Platform, loans: pd.DataFrame
) -> None:
    result = run(credit_platform, loans)
    candidate = result.candidate
    assert (candidate.name, candidate.version, candidate.stage) == (
        MODEL,
        2,
        registry.Stage.CANDIDATE,
    )
    with credit_platform.sessions() as session:
        _info, model = credit.load_model(session, credit_platform.artifact_dir, f"{MODEL}:2")
    assert model.algorithm == governance.mitigation.ALGORITHM
    assert not {"age", "sex"} & set(model.spec.features)
    features = model.features(loans)
    without = model.features(loans.drop(columns=["age", "sex", "nationality"]))
    shuffled = loans.assign(sex=loans["sex"].sample(frac=1, random_state=1).to_numpy())
    assert model.predict_pd(without) == pytest.approx(model.predict_pd(features))
    assert model.predict_pd(model.features(shuffled)) == pytest.approx(model.predict_pd(features))
    # it decides like any credit model, with reasons
    decisions = credit.decide(
        loans.head(20), model, credit.parse_policy(credit.DEFAULT_POLICY),
        model_name=MODEL, model_version=2, policy_version=1,
    )  # fmt: skip
    assert any(d.reasons for d in decisions)
    assert all(r.feature not in {"age", "sex"} for d in decisions for r in d.reasons)


def test_the_tradeoff_is_measured_on_the_documented_split_with_fairlearns_numbers(
    credit_platform: Platform, loans: pd.DataFrame
) -> None:
    result = run(credit_platform, loans, constraint="demographic_parity")
    reference, unconstrained, mitigated = result.tradeoff.rows
    assert [r.model for r in result.tradeoff.rows] == ["reference", "unconstrained", "mitigated"]
    assert (result.tradeoff.train_rows, result.tradeoff.holdout_rows, result.tradeoff.seed) == (
        1050,
        450,
        42,
    )
    y = (loans["default"] == 1).to_numpy().astype(int)
    _train, test = train_test_split(
        np.arange(ROWS), test_size=governance.mitigation.HOLDOUT, stratify=y, random_state=42
    )
    test = np.sort(test)
    with credit_platform.sessions() as session:
        _info, model = credit.load_model(session, credit_platform.artifact_dir, f"{MODEL}:1")
    held = loans.iloc[test]
    pd_ = model.predict_pd(model.features(held))
    approved = (pd_ < 0.08).astype(int)
    good = 1 - y[test]
    bands, labels = ProtectedAttribute.parse("age:25,40").groups(held["age"])
    age = np.asarray(labels, dtype=object)[bands]
    assert reference.auc == pytest.approx(credit.evaluate(y[test], pd_).auc)
    assert reference.approval_rate == pytest.approx(approved.mean())
    assert reference.disparity["age"].approval_rate_difference == pytest.approx(
        demographic_parity_difference(good, approved, sensitive_features=age)
    )
    assert reference.disparity["sex"].equalized_odds_difference == pytest.approx(
        equalized_odds_difference(good, approved, sensitive_features=held["sex"].to_numpy())
    )
    # the constraint lowers the disparity it targets, on the groups it was trained on
    on = result.tradeoff.constrained_on
    assert on == "age & sex"
    before = unconstrained.disparity[on].approval_rate_difference
    after = mitigated.disparity[on].approval_rate_difference
    assert before is not None and after is not None and after < before
    # the registry keeps the table with the candidate's held-out metrics
    with credit_platform.sessions() as session:
        stored = registry.get_version(session, MODEL, 2)
    assert stored.metrics["auc"] == pytest.approx(mitigated.auc)
    assert governance.stored_tradeoff(stored) == result.tradeoff
    assert stored.metrics["tradeoff"]["tradeoff"][0] == reference.to_dict()
    assert stored.params["algorithm"] == "mitigated"


def test_equalised_odds_lowers_the_equalised_odds_difference(
    credit_platform: Platform, loans: pd.DataFrame
) -> None:
    result = run(credit_platform, loans, constraint="equalized_odds", protected=["age:25,40"])
    _reference, unconstrained, mitigated = result.tradeoff.rows
    before = unconstrained.disparity["age"].equalized_odds_difference
    after = mitigated.disparity["age"].equalized_odds_difference
    assert before is not None and after is not None and after < before


def test_the_figure_plots_auc_against_the_targeted_disparity(
    credit_platform: Platform, loans: pd.DataFrame
) -> None:
    result = run(credit_platform, loans)
    figure = result.figure()
    assert isinstance(figure, go.Figure)
    (trace,) = figure.data
    assert list(trace.y) == [r.auc for r in result.tradeoff.rows]
    assert list(trace.x) == [
        r.disparity["age & sex"].approval_rate_difference for r in result.tradeoff.rows
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"constraint": "threshold"}, "constraint"),
        ({"protected": ["religion"]}, "religion"),
        ({"protected": ["default"]}, "default"),
        ({"protected": ["sex", "sex"]}, "protected"),
        ({"protected": []}, "protected"),
        ({"protected": ["applicant_id"]}, "applicant_id"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    credit_platform: Platform, loans: pd.DataFrame, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        run(credit_platform, loans, **changes)
    assert caught.value.field == field
    with credit_platform.sessions() as session:
        assert [v.version for v in registry.list_versions(session, MODEL)] == [1]
        assert audit.entries(session, action="model.mitigate") == []


@pytest.fixture
def cli(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("FINAI_DATABASE_URL", platform.settings.db_url)
    monkeypatch.setenv("FINAI_HOME", str(platform.settings.home))
    monkeypatch.setenv("FINAI_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("FINAI_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_registers_prints_json_and_writes_a_self_contained_plot(
    cli: CliRunner, credit_platform: Platform, loans: pd.DataFrame, tmp_path: Path
) -> None:
    data, plot = tmp_path / "loans.csv", tmp_path / "tradeoff.html"
    loans.to_csv(data, index=False)
    result = cli.invoke(
        app,
        ["governance", "mitigate", "--model", MODEL, "--data", str(data), "--target", "default",
         "--protected", "age:25,40", "--protected", "sex", "--constraint", "demographic_parity",
         "--name", "pd-fair", "--plot", str(plot), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["candidate"] == "pd-fair:1"
    assert [row["model"] for row in body["tradeoff"]] == ["reference", "unconstrained", "mitigated"]
    html = plot.read_text()
    assert "Plotly.newPlot" in html
    assert re.search(r"<script[^>]*\bsrc=", html) is None  # nothing loaded from elsewhere
    assert len(html) > 1_000_000  # plotly.js inlined
    table = cli.invoke(
        app,
        ["governance", "mitigate", "--model", MODEL, "--data", str(data), "--target", "default",
         "--protected", "sex", "--constraint", "equalized_odds"],
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    assert f"registered {MODEL}:2 (candidate): equalized_odds on sex" in table.stdout
    refused = cli.invoke(
        app,
        ["governance", "mitigate", "--model", MODEL, "--data", str(data), "--target", "default",
         "--protected", "sex", "--constraint", "threshold"],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "constraint must be one of" in refused.stderr


def test_a_protected_column_the_reference_reads_is_dropped_from_the_candidate(
    credit_platform: Platform, loans: pd.DataFrame
) -> None:
    with credit_platform.sessions() as session:
        _info, reference = credit.load_model(session, credit_platform.artifact_dir, MODEL)
    assert "region" in reference.spec.features
    result = run(credit_platform, loans.drop(columns=["nationality"]), protected=["region"])
    with credit_platform.sessions() as session:
        _info, model = credit.load_model(session, credit_platform.artifact_dir, f"{MODEL}:2")
    assert "region" not in model.spec.features
    assert set(model.spec.features) == set(reference.spec.features) - {"region"}
    assert model.spec.protected == ("age", "sex", "region")
    assert result.tradeoff.constrained_on == "region"
