"""The Governance page and the decision waterfall, through the app in-process (both databases)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from finai import credit, fraud, governance
from finai.context import Platform
from finai.datasets import make_loan_book
from finai.security import Role, create_key
from finai.web.render import PAGES
from tests.conftest import make_platform
from tests.e2e.conftest import finai_cli, server_env, serving
from tests.factories import promote
from tests.fraud.simulations import trained as trained_fraud
from tests.web.test_views import sign_in

PLOT = 'class="plotly-graph-div"'
FEATURE_ROW = re.compile(r'<tr[^>]*data-feature="([^"]+)"')


@dataclasses.dataclass(frozen=True)
class Trained:
    result: credit.TrainResult
    data: pd.DataFrame


@pytest.fixture(scope="module")
def gbm() -> Trained:
    book = make_loan_book(1_500, seed=3)
    return Trained(
        credit.train(book.frame, book.spec, algorithm="gbm", seed=3, folds=2), book.frame
    )


@pytest.fixture(scope="module")
def scorecard() -> Trained:
    book = make_loan_book(1_500, seed=3)
    result = credit.train(book.frame, book.spec, algorithm="scorecard", seed=3, folds=2)
    return Trained(result, book.frame)


def register(platform: Platform, name: str, trained: Trained) -> None:
    with platform.sessions() as session:
        version = credit.register_model(
            session, platform.audit_key, platform.artifact_dir, name=name, result=trained.result,
            data=trained.data, actor="t",
        )  # fmt: skip
        promote(session, platform, name=name, version=version.version)
        session.commit()


def register_fraud(platform: Platform, name: str, algorithm: str = "lightgbm") -> None:
    with platform.sessions() as session:
        fraud.register_model(
            session, platform.audit_key, platform.artifact_dir, name=name,
            result=trained_fraud(algorithm), actor="t",
        )  # fmt: skip
        session.commit()


def record_report(platform: Platform, name: str, data: pd.DataFrame) -> governance.FairnessReport:
    with platform.sessions() as session:
        report = governance.model_fairness_report(
            session, platform.artifact_dir, data.head(600), model_ref=name, target="default",
            protected=["age:25,40", "sex"], bad="1", resamples=30,
        )  # fmt: skip
        governance.record_fairness(
            session, platform.audit_key, report, frame=data.head(600), actor="t"
        )
        session.commit()
    return report


def shows(html: str, title: str) -> bool:
    """Whether a chart titled ``title`` is on the page (plotly writes "·" as \\u00b7)."""
    return title in html or title.replace("·", "\\u00b7") in html


def page(client: TestClient, query: str = "") -> str:
    response = client.get(f"/governance{query}")
    assert response.status_code == 200, response.text
    return response.text


def test_the_nav_lists_governance_after_fraud() -> None:
    labels = [label for label, _href in PAGES]
    assert labels[labels.index("Fraud") + 1] == "Governance"


def test_without_models_the_page_says_how_to_get_one(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    sign_in(client, tokens[Role.AUDITOR])
    html = page(client)
    assert "No credit or fraud model is registered yet" in html
    assert PLOT not in html
    assert '<a href="/governance"' in html  # in the nav


def test_a_gbm_shows_importance_and_partial_dependence(
    client: TestClient, platform: Platform, tokens: dict[Role, str], gbm: Trained
) -> None:
    register(platform, "pd-gbm", gbm)
    sign_in(client, tokens[Role.AUDITOR])
    html = page(client)  # the only model is the default
    assert 'data-model="pd-gbm"' in html
    estimator = gbm.result.model.estimator
    assert isinstance(estimator, credit.GBMModel)
    importance = estimator.feature_importance()
    assert FEATURE_ROW.findall(html) == list(importance.index)
    # gain share and mean |contribution| charts, then five partial dependence curves
    assert html.count(PLOT) == 2 + 5
    assert "Mean |contribution| (TreeSHAP)" in html
    assert "average log-odds of bad" in html
    assert shows(html, f"{importance.index[0]} · partial dependence")
    assert "the model alone" in html
    assert "No fairness report is recorded for pd-gbm" in html
    assert "finai governance fairness --model pd-gbm:1" in html


def test_a_scorecard_shows_its_information_values_bins_and_points(
    client: TestClient, platform: Platform, tokens: dict[Role, str], scorecard: Trained
) -> None:
    register(platform, "pd-card", scorecard)
    sign_in(client, tokens[Role.AUDITOR])
    html = page(client, "?model=pd-card:1")
    estimator = scorecard.result.model.estimator
    assert isinstance(estimator, credit.ScorecardModel)
    values = estimator.information_values()
    assert FEATURE_ROW.findall(html) == list(values.index)
    for c in estimator.characteristics_:
        for label in c.labels:
            assert f"<code>{label}</code>" in html
    scored = {c.name for c in estimator.characteristics_}
    assert html.count('class="group-start not-scored"') == len(set(values.index) - scored)
    assert "average score points" in html
    assert html.count(PLOT) == 1 + 5  # information value, then the curves


def test_recorded_fairness_reports_are_listed_newest_first_with_a_chart(
    client: TestClient, platform: Platform, tokens: dict[Role, str], scorecard: Trained
) -> None:
    register(platform, "pd-card", scorecard)
    first = record_report(platform, "pd-card", scorecard.data)
    record_report(platform, "pd-card", scorecard.data.iloc[::-1].reset_index(drop=True))
    sign_in(client, tokens[Role.AUDITOR])
    html = page(client, "?model=pd-card")
    seqs = [int(s) for s in re.findall(r'data-record="(\d+)"', html)]
    assert len(seqs) == 2 and seqs == sorted(seqs, reverse=True)
    assert "Disparate impact: lowest over highest approval rate" in html
    assert "four-fifths 0.8" in html
    table = html[html.index('class="card table-wrap fairness-records"') :]
    for attribute in first.attributes:
        impact = attribute.disparate_impact
        assert f"<td>{attribute.name.replace('&', '&amp;')}</td>" in table
        if impact.ratio is not None:
            assert f"{impact.ratio:.3f}" in table
    assert ("passes" in table) or ("fails" in table)
    assert "No fairness report is recorded" not in html


def test_fraud_models_are_explained_without_fairness_reports(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    register_fraud(platform, "fraud-gbm")
    register_fraud(platform, "fraud-logistic", "logistic")
    sign_in(client, tokens[Role.AUDITOR])
    html = page(client, "?model=fraud-gbm")
    assert shows(html, "Feature importance · share of split gain")
    assert "Mean |contribution| (TreeSHAP)" not in html  # the fraud model keeps no rows
    assert "average log-odds of fraud" in html
    assert "Fairness reports cover credit models" in html
    assert html.count("<option ") == 2
    other = page(client, "?model=fraud-logistic")
    assert "No explanation: explanations cover LightGBM fraud models" in other
    assert "Fairness reports cover credit models" in other


@pytest.mark.parametrize(("role", "status"), [(Role.ANALYST, 200), (Role.OPERATOR, 403)])
def test_readers_may_open_the_page(
    client: TestClient, platform: Platform, tokens: dict[Role, str], role: Role, status: int
) -> None:
    sign_in(client, tokens[role])
    response = client.get("/governance")
    assert response.status_code == status
    home = client.get("/").text
    assert ('<a href="/governance"' in home) == (status == 200)


def test_an_unknown_model_is_a_not_found_page(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    sign_in(client, tokens[Role.ADMIN])
    assert client.get("/governance?model=nope").status_code == 404
    assert client.get("/governance?model=nope:x").status_code == 422


# the decision page's waterfall


def decide(platform: Platform, name: str, data: pd.DataFrame) -> credit.Decision:
    with platform.sessions() as session:
        credit.save_policy(session, platform.audit_key, text=credit.DEFAULT_POLICY, actor="t")
        [decision] = credit.decide_and_record(
            session, platform.audit_key, platform.artifact_dir, data.head(1), model_ref=name,
            actor="t",
        )  # fmt: skip
        session.commit()
    return decision


def test_a_scorecard_decision_has_a_waterfall_in_points(
    client: TestClient, platform: Platform, tokens: dict[Role, str], scorecard: Trained
) -> None:
    register(platform, "pd-card", scorecard)
    decision = decide(platform, "pd-card", scorecard.data)
    sign_in(client, tokens[Role.AUDITOR])
    html = client.get(f"/credit/decisions/{decision.id}").text
    assert html.count(PLOT) == 1
    assert "What lowered this decision (points lost): from the base to the result" in html
    assert "best possible score" in html and "other characteristics" in html
    assert 'class="muted small waterfall-note"' in html


def test_a_gbm_decision_has_a_waterfall_in_log_odds(
    client: TestClient, platform: Platform, tokens: dict[Role, str], gbm: Trained
) -> None:
    register(platform, "pd-gbm", gbm)
    decision = decide(platform, "pd-gbm", gbm.data)
    sign_in(client, tokens[Role.OPERATOR])
    html = client.get(f"/credit/decisions/{decision.id}").text
    assert "average log-odds (base)" in html
    assert "other features and calibration" in html
    assert f"PD {decision.pd:.2%}" in html


# in a browser


@pytest.mark.e2e
@pytest.mark.browser
def test_an_auditor_reads_the_governance_page_in_a_browser(
    browser: Browser, scorecard: Trained, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("governance-live")
    env = server_env(home, f"sqlite:///{home / 'finai.db'}")
    init = finai_cli(env, "init", "--no-demo")
    assert init.returncode == 0, init.stderr
    platform = make_platform(env["FINAI_DATABASE_URL"], home)
    try:
        register(platform, "pd-card", scorecard)
        record_report(platform, "pd-card", scorecard.data)
        decision = decide(platform, "pd-card", scorecard.data)
        with platform.sessions() as session:
            _key, token = create_key(
                session, platform.audit_key, name="e2e auditor", role=Role.AUDITOR, actor="t"
            )
            session.commit()
    finally:
        platform.close()
    with serving(env, home / "server.log") as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{url}/login")
        page.fill("#api_key", token)
        page.get_by_role("button", name="Sign in").click()
        page.locator(".nav a", has_text="Governance").click()
        expect(page).to_have_url(f"{url}/governance")
        plots = page.locator(".js-plotly-plot")
        expect(plots).to_have_count(1 + 5 + 1)
        expect(plots.first.locator(".main-svg").first).to_be_visible()
        expect(plots.first).to_contain_text("Information value")
        expect(plots.last).to_contain_text("four-fifths 0.8")
        expect(page.locator("tr[data-record]")).to_have_count(1)
        page.screenshot(path=tmp_path / "governance.png", full_page=True)

        page.goto(f"{url}/credit/decisions/{decision.id}")
        chart = page.locator(".js-plotly-plot")
        expect(chart.locator(".main-svg").first).to_be_visible()
        expect(chart).to_contain_text("best possible score")
        page.screenshot(path=tmp_path / "waterfall.png", full_page=True)
        context.close()
    assert errors == []
