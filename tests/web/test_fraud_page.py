"""The fraud pages through the app in-process, on SQLite and PostgreSQL; one browser walk.

A fraud model trained once per run (``tests.fraud.simulations.trained``) is registered as
the champion ``demo-fraud``. Scores are stored directly (``records.save_scores``, which
lets a test choose scores, actions and days) or through the scoring API.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select

from finai import fraud, registry
from finai.api.permissions import PERMISSIONS
from finai.context import Platform
from finai.fraud import records
from finai.fraud.records import Alert
from finai.security import Role, create_key
from finai.store import FraudLabelRow
from finai.web.fraud import histogram, precision
from tests.conftest import auth, make_platform
from tests.e2e.conftest import finai_cli, server_env, serving
from tests.factories import promote
from tests.fraud.simulations import trained
from tests.web.test_views import audit_log, key_id, sign_in

MODEL = "demo-fraud"
PLOT = 'class="plotly-graph-div"'
ROW = re.compile(r'<tr data-alert="([0-9a-f]{32})" data-status="(\w+)">')


def register(platform: Platform, thresholds: fraud.Thresholds | None = None) -> int:
    """Register the simulated model (its thresholds changed, if given) as the champion."""
    result = trained()
    if thresholds is not None:
        model = dataclasses.replace(result.model, thresholds=thresholds)
        result = dataclasses.replace(result, model=model)
    with platform.sessions() as session:
        version = fraud.register_model(
            session, platform.audit_key, platform.artifact_dir, name=MODEL, result=result,
            actor="t",
        )  # fmt: skip
        promote(session, platform, name=MODEL, version=version.version, actor="t")
        session.commit()
    return version.version


@pytest.fixture
def fraud_model(platform: Platform) -> str:
    """``demo-fraud`` v1, the model the settings name, as champion."""
    assert platform.settings.fraud_model == MODEL
    register(platform)
    return MODEL


REASONS = (
    fraud.Reason("terminal_fraud_rate_30d", 0.25, 1.75),
    fraud.Reason("amount", 912.5, 0.5),
    fraud.Reason("card_count_1d", float("nan"), 0.125),
)


def store(
    platform: Platform, tid: str, score: float, action: str, *, days_ago: int = 0, minutes: int = 1
) -> Alert | None:
    """Store one score as the scorer would have answered; return the alert it opened."""
    when = datetime.now(UTC) - timedelta(days=days_ago, minutes=minutes)
    tx = fraud.Transaction(tid, when, "card-1", "term-1", 912.5)
    result = fraud.ScoreResult(
        tid, score, fraud.Action(action), REASONS, MODEL, 1, degraded=False, scored_at=when
    )
    with platform.sessions() as session:
        opened = records.save_scores(
            session, platform.audit_key, [(tx, result)], actor="t", source="api"
        )
        session.commit()
    return opened[0] if opened else None


def resolve(platform: Platform, alert: Alert, resolution: str) -> None:
    with platform.sessions() as session:
        records.resolve_alert(
            session, platform.audit_key, alert.id, resolution=resolution, actor="t"
        )
        session.commit()


def assign(platform: Platform, alert: Alert, assignee: str) -> None:
    with platform.sessions() as session:
        records.assign_alert(session, platform.audit_key, alert.id, assignee=assignee, actor="t")
        session.commit()


def alert_of(platform: Platform, alert_id: str) -> Alert:
    with platform.sessions() as session:
        return records.get_alert(session, alert_id)


def labels(platform: Platform) -> int:
    with platform.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(FraudLabelRow)) or 0)


def figure(html: str, key: str) -> str:
    match = re.search(rf'data-figure="{key}"><span class="metric-value">([^<]*)<', html)
    assert match, key
    return match.group(1)


def flash(html: str, kind: str) -> str:
    match = re.search(rf'class="flash flash-{kind}" role="\w+">([^<]*)<', html)
    assert match, f"page shows no {kind} flash"
    return match.group(1)


def plotted(text: str) -> str:
    """``text`` as plotly embeds it in a figure's JSON (non-ASCII escaped)."""
    return json.dumps(text)[1:-1]


def queue(html: str) -> list[tuple[str, str]]:
    return ROW.findall(html)


@dataclasses.dataclass
class Seeded:
    """Alerts of :func:`seeded` by transaction id."""

    alerts: dict[str, Alert]


@pytest.fixture
def seeded(platform: Platform, fraud_model: str) -> Seeded:
    """Five scores today (two allowed), two alerts two days ago; three resolved, one assigned."""
    alerts: dict[str, Alert] = {}
    for i, (tid, score, action, days_ago) in enumerate(
        [
            ("t-allow-1", 0.0001, "allow", 0),
            ("t-allow-2", 0.0003, "allow", 0),
            ("t-review-1", 0.2, "review", 0),
            ("t-review-2", 0.3, "review", 0),
            ("t-block-1", 0.9, "block", 0),
            ("t-old-1", 0.5, "review", 2),
            ("t-old-2", 0.95, "block", 2),
        ]
    ):
        # the later in the list, the newer
        opened = store(platform, tid, score, action, days_ago=days_ago, minutes=20 - i)
        if opened is not None:
            alerts[tid] = opened
    resolve(platform, alerts["t-old-1"], "legitimate")
    resolve(platform, alerts["t-old-2"], "fraud")
    resolve(platform, alerts["t-review-1"], "fraud")
    assign(platform, alerts["t-review-2"], "someone else")
    return Seeded(alerts)


def spy_labels(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool, Any]]:
    """Record what reaches the online state's ``label`` (and what it answered)."""
    state = client.app.state.fraud_scorers.store  # type: ignore[attr-defined]
    original: Callable[[str, bool], bool] = state.label
    calls: list[tuple[str, bool, Any]] = []

    def label(transaction_id: str, is_fraud: bool) -> bool:
        answer = original(transaction_id, is_fraud)
        calls.append((transaction_id, is_fraud, answer))
        return answer

    monkeypatch.setattr(state, "label", label)
    return calls


# the page


def test_the_page_shows_thresholds_scores_alerts_precision_and_the_queue(
    client: TestClient, platform: Platform, tokens: dict[Role, str], seeded: Seeded
) -> None:
    sign_in(client, tokens[Role.ANALYST])
    page = client.get("/fraud")
    assert page.status_code == 200
    html = page.text
    thresholds = trained().model.thresholds
    # the model in force and its thresholds
    assert f'data-model="{MODEL}" data-version="1"' in html
    assert '<span class="badge stage-champion">champion</span>' in html
    assert f"score &lt; {thresholds.review:.4g}" in html
    assert f"score ≥ {thresholds.block:.4g}" in html
    assert thresholds.alerts_per_day is not None
    assert f"{thresholds.alerts_per_day:g} alerts a day" in html
    # the figures: today's scores and alerts, the queue's size, precision over 30 days
    assert figure(html, "scores") == "5"
    assert figure(html, "today") == f"3 / {thresholds.alerts_per_day:g}"
    assert (figure(html, "open"), figure(html, "assigned")) == ("1", "1")
    assert figure(html, "precision") == "66.7%"
    assert "2 fraud of 3 resolved alerts" in html
    # three figures drawn by plotly.js, loaded once
    assert html.count(PLOT) == 3
    assert html.count('<script src="/static/plotly.min.js"></script>') == 1
    for title in (
        "Scores · last 24 h (5)",
        f"Alerts per day · budget {thresholds.alerts_per_day:g}",
        "Precision of resolved alerts · 67% overall",
        f"review ≥ {thresholds.review:.3g}",
    ):
        assert plotted(title) in html, title
    # the queue: unresolved only, open before assigned, each linking to its transaction
    alerts = seeded.alerts
    assert queue(html) == [
        (alerts["t-block-1"].id, "open"),
        (alerts["t-review-2"].id, "assigned"),
    ]
    for tid in ("t-block-1", "t-review-2"):
        assert f'href="/fraud/transactions/{tid}?alert={alerts[tid].id}"' in html
    assert "someone else" in html
    # an analyst may act: assign the open one, take over the other, resolve both
    assert html.count('class="alert-assign"') == 2
    assert ">Assign to me</button>" in html and ">Take over</button>" in html
    assert html.count('class="alert-resolve"') == 2
    assert '<a href="/fraud" class="active" aria-current="page">Fraud</a>' in html


def test_the_queue_filters_by_status_unresolved_first(
    client: TestClient, tokens: dict[Role, str], seeded: Seeded
) -> None:
    sign_in(client, tokens[Role.AUDITOR])
    alerts = seeded.alerts
    resolved = client.get("/fraud", params={"status": "resolved"}).text
    assert queue(resolved) == [
        (alerts["t-review-1"].id, "resolved"),
        (alerts["t-old-2"].id, "resolved"),
        (alerts["t-old-1"].id, "resolved"),
    ]
    assert 'data-resolution="legitimate"' in resolved
    assert 'aria-current="page">Resolved</a>' in resolved
    everything = client.get("/fraud", params={"status": "all"}).text
    assert [status for _, status in queue(everything)] == ["open", "assigned"] + ["resolved"] * 3
    opened = client.get("/fraud", params={"status": "open"}).text
    assert queue(opened) == [(alerts["t-block-1"].id, "open")]
    # an auditor reads but gets no forms
    for html in (resolved, everything, opened):
        assert "/assign" not in html and "/resolve" not in html
    bad = client.get("/fraud", params={"status": "closed"})
    assert bad.status_code == 422
    assert "Invalid input" in bad.text


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_what_the_table_allows(
    client: TestClient, tokens: dict[Role, str], seeded: Seeded, role: Role
) -> None:
    sign_in(client, tokens[role])
    readers = PERMISSIONS[("GET", "/fraud")]
    home = client.get("/")
    assert ('href="/fraud"' in home.text) is (role.value in readers)
    page = client.get("/fraud")
    if role.value in readers:
        assert page.status_code == 200
        writers = PERMISSIONS[("POST", "/fraud/alerts/{alert_id}/resolve")]
        assert ('class="alert-resolve' in page.text) is (role.value in writers)
    else:
        assert page.status_code == 403
        assert f"<strong>{role.value}</strong>, which may not open this page" in page.text
    alert = seeded.alerts["t-block-1"]
    detail = client.get(f"/fraud/transactions/t-block-1?alert={alert.id}")
    assert detail.status_code == 200  # every role may read a score, as through the API
    assert role.value in PERMISSIONS[("GET", "/fraud/transactions/{transaction_id}")]
    # the alert is shown to those who may read the queue
    assert ('class="card alert-panel"' in detail.text) is (role.value in readers)


# acting on alerts


def test_assign_then_resolve_from_the_queue_audits_and_labels(
    client: TestClient,
    platform: Platform,
    tokens: dict[Role, str],
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    csrf = sign_in(client, tokens[Role.ANALYST])
    analyst = key_id(tokens[Role.ANALYST])
    calls = spy_labels(client, monkeypatch)
    alert = seeded.alerts["t-block-1"]
    before = len(audit_log(platform))

    form = {"csrf_token": csrf, "back": "queue", "status": "open"}
    response = client.post(f"/fraud/alerts/{alert.id}/assign", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/fraud?status=open#queue"
    assigned = alert_of(platform, alert.id)
    assert (assigned.status, assigned.assignee) == ("assigned", "test analyst")
    log = audit_log(platform)
    assert len(log) == before + 1
    assert (log[0].action, log[0].object_id, log[0].actor) == (
        "fraud.alert.assign",
        alert.id,
        analyst,
    )
    page = client.get("/fraud", params={"status": "open"})
    assert flash(page.text, "ok") == "Alert on t-block-1 assigned to test analyst."
    mine = client.get("/fraud").text
    row = mine[mine.index(f'data-alert="{alert.id}"') :].split("</tr>")[0]
    assert "Assign to me" not in row and "Take over" not in row  # already the analyst's

    form = {"csrf_token": csrf, "resolution": "fraud", "note": "card holder confirmed"}
    response = client.post(f"/fraud/alerts/{alert.id}/resolve", data=form)
    assert response.status_code == 200
    assert str(response.url).endswith("/fraud#queue")
    assert flash(response.text, "ok") == "Alert on t-block-1 resolved as fraud."
    resolved = alert_of(platform, alert.id)
    assert (resolved.status, resolved.resolution, resolved.resolved_by, resolved.note) == (
        "resolved",
        "fraud",
        analyst,
        "card holder confirmed",
    )
    assert alert.id not in dict(queue(response.text))
    # the verdict is a label: in the database (the next training set) and in the state
    with platform.sessions() as session:
        frame = records.labelled_transactions(session)
    assert frame.set_index("transaction_id").loc["t-block-1", "is_fraud"] == 1
    assert [(tid, verdict) for tid, verdict, _ in calls] == [("t-block-1", True)]
    log = audit_log(platform)
    assert (log[0].action, log[0].object_id, log[0].actor) == (
        "fraud.alert.resolve",
        alert.id,
        analyst,
    )
    # precision now counts it: 3 fraud of 4 resolved
    assert figure(response.text, "precision") == "75.0%"


def test_a_second_resolution_or_a_bad_one_changes_nothing(
    client: TestClient, platform: Platform, tokens: dict[Role, str], seeded: Seeded
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    done = seeded.alerts["t-review-1"]
    count, before = labels(platform), len(audit_log(platform))
    again = client.post(
        f"/fraud/alerts/{done.id}/resolve", data={"csrf_token": csrf, "resolution": "legitimate"}
    )
    assert again.status_code == 200
    assert "is already resolved" in flash(again.text, "error")
    assert alert_of(platform, done.id).resolution == "fraud"
    reassign = client.post(f"/fraud/alerts/{done.id}/assign", data={"csrf_token": csrf})
    assert "is already resolved" in flash(reassign.text, "error")

    open_alert = seeded.alerts["t-block-1"]
    bad = client.post(
        f"/fraud/alerts/{open_alert.id}/resolve", data={"csrf_token": csrf, "resolution": "maybe"}
    )
    assert "resolution must be one of fraud, legitimate" in flash(bad.text, "error")
    long_note = {"csrf_token": csrf, "resolution": "fraud", "note": "x" * 2001}
    too_long = client.post(f"/fraud/alerts/{open_alert.id}/resolve", data=long_note)
    assert "note must be at most 2000 characters" in flash(too_long.text, "error")
    assert alert_of(platform, open_alert.id).status == "open"
    missing = client.post(f"/fraud/alerts/{'0' * 32}/assign", data={"csrf_token": csrf})
    assert "no alert with id" in flash(missing.text, "error")
    malformed = client.post("/fraud/alerts/not-an-id/assign", data={"csrf_token": csrf})
    assert malformed.status_code == 422
    assert (labels(platform), len(audit_log(platform))) == (count, before)


def test_a_resolution_stands_when_the_state_store_is_down(
    client: TestClient,
    platform: Platform,
    tokens: dict[Role, str],
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def down(transaction_id: str, is_fraud: bool) -> bool:
        raise fraud.StateUnavailable("state store unreachable")

    monkeypatch.setattr(client.app.state.fraud_scorers.store, "label", down)  # type: ignore[attr-defined]
    csrf = sign_in(client, tokens[Role.ANALYST])
    alert = seeded.alerts["t-block-1"]
    response = client.post(
        f"/fraud/alerts/{alert.id}/resolve", data={"csrf_token": csrf, "resolution": "legitimate"}
    )
    assert flash(response.text, "ok") == "Alert on t-block-1 resolved as legitimate."
    assert alert_of(platform, alert.id).resolution == "legitimate"
    assert labels(platform) == 4


def test_acting_needs_the_csrf_token_and_a_writer_role(
    client: TestClient, platform: Platform, tokens: dict[Role, str], seeded: Seeded
) -> None:
    alert = seeded.alerts["t-block-1"]
    before = len(audit_log(platform))
    other = TestClient(client.app)
    stolen = sign_in(other, tokens[Role.ADMIN])
    sign_in(client, tokens[Role.ANALYST])
    for token in (None, "", "wrong", stolen):
        data = {"resolution": "fraud"} | ({} if token is None else {"csrf_token": token})
        response = client.post(f"/fraud/alerts/{alert.id}/resolve", data=data)
        assert response.status_code == 403, token
        assert "security token" in response.text
    for role in (Role.AUDITOR, Role.OPERATOR):
        reader = TestClient(client.app)
        csrf = sign_in(reader, tokens[role])
        for action in ("assign", "resolve"):
            data = {"csrf_token": csrf, "resolution": "fraud"}
            response = reader.post(f"/fraud/alerts/{alert.id}/{action}", data=data)
            assert response.status_code == 403, (role, action)
    assert alert_of(platform, alert.id).status == "open"
    assert len(audit_log(platform)) == before


# without a model, with cost thresholds


def test_without_a_model_the_page_says_so_and_still_shows_what_is_stored(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    sign_in(client, tokens[Role.ADMIN])
    empty = client.get("/fraud")
    assert empty.status_code == 200
    assert "No fraud model named &#39;demo-fraud&#39; is registered" in empty.text
    assert "No transactions scored in the last 24 hours." in empty.text
    assert "No alerts in the last 30 days." in empty.text
    assert "No open or assigned alerts." in empty.text
    assert "plotly" not in empty.text
    assert figure(empty.text, "precision") == "-"

    # scores stored by an earlier model still show, without thresholds or budget
    opened = store(platform, "t1", 0.7, "review")
    assert opened is not None
    html = client.get("/fraud").text
    assert "No fraud model named" in html
    assert html.count(PLOT) == 2
    assert plotted("review ≥") not in html
    assert '"text":"Alerts per day"' in html and "/day" not in html
    assert figure(html, "today") == "1"
    assert queue(html) == [(opened.id, "open")]


def test_a_model_that_is_not_a_fraud_model_is_named_not_fatal(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    with platform.sessions() as session:
        registry.register(
            session, platform.audit_key, platform.artifact_dir, name=MODEL, model={"w": 1},
            kind="credit.test", actor="t",
        )  # fmt: skip
        session.commit()
    sign_in(client, tokens[Role.ANALYST])
    page = client.get("/fraud")
    assert page.status_code == 200
    assert "cannot be loaded" in page.text
    assert "is not a fraud model" in page.text


def test_cost_thresholds_have_no_budget(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    register(platform, fraud.Thresholds(review=0.25, block=0.75, method="cost", review_cost=7))
    store(platform, "t1", 0.5, "review")
    sign_in(client, tokens[Role.ANALYST])
    html = client.get("/fraud").text
    assert "Thresholds chosen by cost (an alert costs 7): no daily alert budget." in html
    assert "score &lt; 0.25" in html and "score ≥ 0.75" in html
    assert figure(html, "today") == "1"
    assert '"text":"Alerts per day"' in html and "/day" not in html


# a transaction and its explanation


def _alerted(client: TestClient, token: str) -> dict[str, Any]:
    """Score large night-time amounts through the API until one raises an alert."""
    for i in range(200):
        body = {
            "transaction_id": f"a{i}",
            "timestamp": "2026-06-01T03:00:00Z",
            "customer_id": f"c{i}",
            "terminal_id": "m1",
            "amount": 5_000.0 + i,
        }
        response = client.post("/v1/fraud/score", json=body, headers=auth(token))
        assert response.status_code == 200, response.text
        if response.json()["action"] != "allow":
            result: dict[str, Any] = response.json()
            return result
    raise AssertionError("no transaction raised an alert")


def test_a_scored_transaction_is_explained_and_its_alert_resolved_from_its_page(
    client: TestClient,
    platform: Platform,
    tokens: dict[Role, str],
    fraud_model: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scored = _alerted(client, tokens[Role.OPERATOR])
    tid = scored["transaction_id"]
    calls = spy_labels(client, monkeypatch)
    csrf = sign_in(client, tokens[Role.ANALYST])
    listing = client.get("/fraud").text
    assert figure(listing, "scores") == str(int(tid.removeprefix("a")) + 1)
    match = re.search(rf'href="/fraud/transactions/{tid}\?alert=([0-9a-f]{{32}})"', listing)
    assert match, "the queue links the alert's transaction"
    alert_id = match.group(1)

    page = client.get(f"/fraud/transactions/{tid}", params={"alert": alert_id})
    assert page.status_code == 200
    html = page.text
    assert f'<code class="transaction-id">{tid}</code>' in html
    assert f'data-figure="score"><span class="metric-value">{scored["score"]:.4f}<' in html
    assert f'data-action="{scored["action"]}"' in html
    assert f"{MODEL} v1" in html
    assert f'href="/models/{MODEL}"' in html
    assert "5,0" in html  # the amount
    assert len(scored["reasons"]) >= 1
    for reason in scored["reasons"]:
        assert f'data-feature="{reason["feature"]}"' in html
    assert html.count(PLOT) == 1
    assert "What raised this score (log-odds added)" in html
    assert f'class="card alert-panel" data-alert="{alert_id}" data-status="open"' in html

    form = {"csrf_token": csrf, "back": "transaction", "resolution": "legitimate"}
    response = client.post(f"/fraud/alerts/{alert_id}/resolve", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/fraud/transactions/{tid}?alert={alert_id}"
    after = client.get(response.headers["location"]).text
    assert flash(after, "ok") == f"Alert on {tid} resolved as legitimate."
    assert 'data-status="resolved"' in after
    assert 'data-resolution="legitimate"' in after
    assert "/resolve" not in after
    # the scorer had recorded the transaction, so the state took the label
    assert calls == [(tid, False, True)]


def test_the_transaction_page_without_an_alert_and_for_unknown_ids(
    client: TestClient, platform: Platform, tokens: dict[Role, str], seeded: Seeded
) -> None:
    sign_in(client, tokens[Role.OPERATOR])
    page = client.get("/fraud/transactions/t-allow-1")
    assert page.status_code == 200
    html = page.text
    assert 'data-action="allow"' in html
    assert "0.0001" in html
    assert "<code>card-1</code>" in html and "<code>term-1</code>" in html
    assert 'data-feature="card_count_1d"' in html
    assert "missing" in html  # a feature value that was missing
    assert "+1.750" in html
    assert 'class="crumb"' not in html  # an operator may not open the queue
    assert "alert-panel" not in html
    client.cookies.clear()
    sign_in(client, tokens[Role.AUDITOR])
    missing = client.get("/fraud/transactions/no-such-transaction")
    assert missing.status_code == 404
    assert "no score stored for transaction" in missing.text
    other = seeded.alerts["t-block-1"]
    mismatched = client.get("/fraud/transactions/t-review-2", params={"alert": other.id})
    assert mismatched.status_code == 404
    assert client.get("/fraud/transactions/t-review-2?alert=zz").status_code == 422


# the page's arithmetic


def _stored(tid: str, score: float, action: str) -> records.StoredScore:
    when = datetime(2026, 6, 1, tzinfo=UTC)
    return records.StoredScore(
        transaction_id=tid,
        occurred_at=when,
        scored_at=when,
        customer_id="c",
        terminal_id="m",
        amount=1.0,
        score=score,
        action=fraud.Action(action),
        model_name=MODEL,
        model_version=1,
        reasons=(),
        degraded=False,
        source="api",
        actor="t",
    )


def test_histogram_bins_scores_by_their_stored_action() -> None:
    pairs = [(0.0, "allow"), (0.01, "allow"), (0.5, "review"), (1.0, "block"), (0.99, "block")]
    scores = [_stored(f"t{i}", score, action) for i, (score, action) in enumerate(pairs)]
    counted = histogram(scores, bins=4)
    assert counted.edges == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert counted.counts == {"allow": [2, 0, 0, 0], "review": [0, 0, 1, 0], "block": [0, 0, 0, 2]}


def test_precision_is_fraud_over_resolved() -> None:
    day = datetime(2026, 6, 1, tzinfo=UTC).date()
    stats = [records.DayStats(day, 5, 2, 1, 1), records.DayStats(day, 3, 2, 2, 0)]
    assert precision(stats) == 0.75
    assert precision([records.DayStats(day, 4, 0, 0, 0)]) is None


# in a browser


@dataclasses.dataclass(frozen=True)
class Live:
    """``finai serve`` with the fraud model registered, and keys to use it."""

    url: str
    analyst: str
    operator: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """``finai init --no-demo``, the fraud model and two keys, then ``finai serve``."""
    home = tmp_path_factory.mktemp("fraud-live")
    env = server_env(home, f"sqlite:///{home / 'finai.db'}")
    init = finai_cli(env, "init", "--no-demo")
    assert init.returncode == 0, init.stderr
    platform = make_platform(env["FINAI_DATABASE_URL"], home)
    try:
        register(platform)
        made = {}
        with platform.sessions() as session:
            for role in (Role.ANALYST, Role.OPERATOR):
                _key, made[role] = create_key(
                    session, platform.audit_key, name=f"e2e {role.value}", role=role, actor="t"
                )
            session.commit()
    finally:
        platform.close()
    with serving(env, home / "server.log") as url:
        yield Live(url, made[Role.ANALYST], made[Role.OPERATOR])


def _score_until_alerts(live: Live, wanted: int) -> list[str]:
    """Score night-time transactions through the API until ``wanted`` raised alerts."""
    alerted: list[str] = []
    with httpx.Client(base_url=live.url, headers=auth(live.operator), timeout=30) as api:
        for i in range(200):
            body = {
                "transaction_id": f"b{i}",
                "timestamp": "2026-06-01T03:00:00Z",
                "customer_id": f"c{i % 7}",
                "terminal_id": f"m{i % 3}",
                "amount": 40.0 + 97.0 * i,
            }
            response = api.post("/v1/fraud/score", json=body)
            assert response.status_code == 200, response.text
            if response.json()["action"] != "allow":
                alerted.append(body["transaction_id"])
            if len(alerted) == wanted:
                return alerted
    raise AssertionError("too few transactions raised an alert")


@pytest.mark.e2e
@pytest.mark.browser
def test_an_analyst_works_the_fraud_queue_in_a_browser(
    browser: Browser, live: Live, tmp_path: Path
) -> None:
    first, second = _score_until_alerts(live, 2)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{live.url}/login")
    page.fill("#api_key", live.analyst)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live.url}/")
    expect(page.locator(".nav a")).to_have_text(
        ["Overview", "Models", "Credit", "Fraud", "Governance", "Monitoring", "Assist"]
    )
    page.locator(".nav a", has_text="Fraud").click()
    expect(page).to_have_url(f"{live.url}/fraud")
    expect(page.get_by_role("heading", name="Fraud", exact=True)).to_be_visible()

    # the model, the score distribution and the alerts per day, drawn by plotly.js
    expect(page.locator(f'[data-model="{MODEL}"] .stage-champion')).to_have_text("champion")
    plots = page.locator(".js-plotly-plot")
    expect(plots).to_have_count(2)
    for i, title in enumerate(["Scores · last 24 h", "Alerts per day · budget"]):
        expect(plots.nth(i).locator(".main-svg").first).to_be_visible()
        expect(plots.nth(i)).to_contain_text(title)
    expect(plots.nth(0)).to_contain_text("review ≥")
    page.screenshot(path=tmp_path / "fraud.png", full_page=True)

    # assign the first alert, then resolve it as fraud with a note
    row = page.locator("tr[data-alert]", has_text=first)
    row.get_by_role("button", name="Assign to me").click()
    expect(page.locator(".flash-ok")).to_have_text(f"Alert on {first} assigned to e2e analyst.")
    expect(row.locator("[data-status]").first).to_have_text("assigned")
    row.get_by_placeholder("note (optional)").fill("confirmed by the card holder")
    row.get_by_role("button", name="Fraud").click()
    expect(page.locator(".flash-ok")).to_have_text(f"Alert on {first} resolved as fraud.")
    expect(page.locator("tr[data-alert]", has_text=first)).to_have_count(0)
    expect(page.locator('[data-figure="precision"] .metric-value')).to_have_text("100.0%")
    expect(plots).to_have_count(3)
    expect(plots.nth(2)).to_contain_text("Precision of resolved alerts")
    page.get_by_role("link", name="Resolved", exact=True).click()
    resolved = page.locator("tr[data-alert]", has_text=first)
    expect(resolved.locator("[data-resolution]")).to_have_text("fraud")

    # the second alert's transaction: its explanation, then its resolution from there
    page.get_by_role("link", name="Open & assigned").click()
    page.locator("tr[data-alert]", has_text=second).get_by_role("link", name=second).click()
    expect(page).to_have_url(re.compile(rf"/fraud/transactions/{second}\?alert=[0-9a-f]{{32}}$"))
    chart = page.locator(".js-plotly-plot")
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart).to_contain_text("What raised this score")
    expect(page.locator(".reason-list li").first).to_be_visible()
    page.screenshot(path=tmp_path / "fraud-transaction.png", full_page=True)
    page.locator(".alert-panel").get_by_role("button", name="Legitimate").click()
    expect(page.locator(".flash-ok")).to_have_text(f"Alert on {second} resolved as legitimate.")
    expect(page.locator(".alert-panel [data-resolution]")).to_have_text("legitimate")
    page.get_by_role("link", name="Fraud", exact=True).first.click()
    expect(page.locator('[data-figure="precision"] .metric-value')).to_have_text("50.0%")
    context.close()
    assert not errors, f"browser errors: {errors}"
