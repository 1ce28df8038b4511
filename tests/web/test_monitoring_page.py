"""The monitoring page through the app in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from finai import credit
from finai.api.permissions import PERMISSIONS
from finai.context import Platform
from finai.credit import OutcomeReport
from finai.security import Role
from finai.store import DriftCheckRow
from tests.credit.test_outcomes import MODEL, report, store_decisions
from tests.factories import register_versions
from tests.web.test_views import sign_in

PLOT = 'class="plotly-graph-div"'
PLOTLY = '<script src="/static/plotly.min.js"></script>'
JAN = datetime(2026, 1, 15, tzinfo=UTC)
FEB = datetime(2026, 2, 15, tzinfo=UTC)
SEEN = datetime(2026, 6, 1, tzinfo=UTC)


def plotted(text: str) -> str:
    """``text`` as plotly embeds it in a figure's JSON (non-ASCII escaped)."""
    return json.dumps(text)[1:-1]


def figure(html: str, key: str) -> str:
    match = re.search(rf'data-figure="{key}"><span class="metric-value">([^<]*)<', html)
    assert match, key
    return match.group(1)


@pytest.fixture
def model(platform: Platform) -> str:
    """``pd-watch`` v1, a credit model with AUC 0.85 and KS 0.6 at training."""
    register_versions(
        platform, [{"auc": 0.85, "ks": 0.6, "bad_rate": 0.2}], name=MODEL, kind=credit.KIND
    )
    return MODEL


@pytest.fixture
def monitored(platform: Platform, model: str) -> str:
    """Two vintages of outcomes (January ranks worse than at training) and two drift checks."""
    jan = store_decisions(platform, [0.1, 0.2, 0.3, 0.4], at=JAN)
    feb = store_decisions(platform, [0.1, 0.2, 0.3, 0.4, 0.5], at=FEB)
    outcomes = [*zip(jan, [0, 1, 0, 1], strict=True), *zip(feb[:4], [0, 0, 1, 1], strict=True)]
    report(platform, [OutcomeReport(d, bool(y), SEEN) for d, y in outcomes])
    with platform.sessions() as session:
        for day, psi, features in [(3, 0.05, {"age": 0.02}), (10, 0.3, {"age": 0.12})]:
            session.add(
                DriftCheckRow(
                    checked_at=datetime(2026, 3, day, tzinfo=UTC),
                    model_name=MODEL,
                    model_version=1,
                    rows=500,
                    score_psi=psi,
                    features=features,
                    status="stable" if psi < 0.1 else "act",
                    source="scheduled",
                    actor="system",
                )
            )
        session.commit()
    return model


def test_the_page_shows_vintages_charts_and_alerts(
    client: TestClient, tokens: dict[Role, str], monitored: str
) -> None:
    sign_in(client, tokens[Role.ANALYST])
    page = client.get("/monitoring")
    assert page.status_code == 200, page.text
    html = page.text
    assert f'data-model="{MODEL}" data-version="1"' in html
    assert '<span class="badge stage-candidate">candidate</span>' in html
    assert "at training: AUC 0.850, KS 0.600, bad rate 20.0%" in html
    # the headline numbers over both months
    assert figure(html, "decisions") == "9"
    assert figure(html, "outcomes") == "8"
    assert figure(html, "rates") == "50.0% / 25.0%"
    # January 0.75 (3 of 4 pairs), February 1.0 (both bads above both goods); all 14/16
    assert figure(html, "auc") == "0.875 / 0.850"
    # with the default 100 outcomes every vintage is too small: no alerts
    assert figure(html, "alerts") == "0"
    assert "No alerts: every vintage large enough to judge performs as trained." in html
    assert html.count('<tr data-vintage="2026-01" class="muted">') == 1
    # three figures, plotly.js loaded once
    assert html.count(PLOT) == 3
    assert html.count(PLOTLY) == 1
    for title in (
        "Realised vs expected default rate by vintage",
        "AUC and KS by vintage against training",
        "AUC at training 0.850",
        "PSI over time",
        "watch 0.1",
        "act 0.25",
    ):
        assert plotted(title) in html, title
    assert '<a href="/monitoring" class="active" aria-current="page">Monitoring</a>' in html
    nav = re.findall(r'<nav class="nav" aria-label="Main">(.*?)</nav>', html, re.S)[0]
    labels = re.findall(r">(\w+)</a>", nav)
    assert labels.index("Fraud") < labels.index("Monitoring")


def test_alerts_are_listed(
    client: TestClient, tokens: dict[Role, str], monitored: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finai import governance

    original = governance.vintage_report

    def four_outcomes_suffice(*args: object, **kwargs: object) -> governance.VintageReport:
        return original(*args, min_outcomes=4)  # type: ignore[arg-type]

    monkeypatch.setattr(governance, "vintage_report", four_outcomes_suffice)
    sign_in(client, tokens[Role.AUDITOR])
    html = client.get("/monitoring").text
    alerts = re.findall(r'<li data-vintage="([\w-]+)" data-metric="(\w+)">', html)
    # January ranks worse than at training; over both months KS is 0.5 too (< 0.6 - 0.08)
    assert alerts == [("2026-01", "auc"), ("2026-01", "ks"), ("all", "ks")]
    assert "AUC 0.750 in vintage 2026-01 is more than 0.05 below its training value" in html
    assert figure(html, "alerts") == "3"


def test_empty_states(client: TestClient, platform: Platform, tokens: dict[Role, str]) -> None:
    sign_in(client, tokens[Role.ADMIN])
    nothing = client.get("/monitoring").text
    assert 'class="card note no-model"' in nothing
    assert PLOTLY not in nothing
    register_versions(platform, [{"auc": 0.8}], name=MODEL, kind=credit.KIND)
    store_decisions(platform, [0.2], at=JAN)
    bare = client.get("/monitoring").text
    assert 'class="card empty no-outcomes"' in bare
    assert 'class="card empty no-drift"' in bare
    assert "No alerts: no outcomes yet." in bare
    assert PLOTLY not in bare and PLOT not in bare
    assert '<tr data-vintage="2026-01" class="muted">' in bare


def test_the_model_picker(
    client: TestClient, platform: Platform, tokens: dict[Role, str], monitored: str
) -> None:
    register_versions(platform, [{"auc": 0.7}], name="another", kind=credit.KIND)
    register_versions(platform, [{}], name="not-credit", kind="fraud.model")
    sign_in(client, tokens[Role.ANALYST])
    html = client.get("/monitoring", params={"model": "another"}).text
    options = re.findall(r'<option value="([\w-]+)"( selected)?>', html)
    assert options == [("another", " selected"), (MODEL, "")]
    assert 'data-model="another" data-version="1"' in html
    assert 'class="card empty no-outcomes"' in html
    assert client.get("/monitoring", params={"model": f"{MODEL}:1"}).status_code == 200
    assert client.get("/monitoring", params={"model": "nobody"}).status_code == 404
    assert client.get("/monitoring", params={"model": "not-credit"}).status_code == 422


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_what_the_table_allows(
    client: TestClient, tokens: dict[Role, str], monitored: str, role: Role
) -> None:
    sign_in(client, tokens[role])
    readers = PERMISSIONS[("GET", "/monitoring")]
    assert ('href="/monitoring"' in client.get("/").text) is (role.value in readers)
    page = client.get("/monitoring")
    if role.value in readers:
        assert page.status_code == 200
        assert PLOT in page.text
    else:
        assert page.status_code == 403
        assert f"<strong>{role.value}</strong>, which may not open this page" in page.text
