"""A person in headless Chromium against a real uvicorn process: sign in, review, act, sign out."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Response,
    expect,
)
from pydantic import SecretStr

from finai import registry
from finai.config import Settings
from finai.context import Platform
from finai.demo import DEMO_MODEL, load_demo

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SECRET = "e2e-browser-secret-" + "k" * 40
MODEL = "pd-retail"
TOKEN = re.compile(r"finai_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    """A running ``uvicorn`` serving FinAI, and the admin token ``finai init`` printed."""

    url: str
    admin_token: str
    home: Path
    db_url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"server did not become healthy:\n{log.read_text()}")


def _register_model(home: Path, db_url: str) -> None:
    platform = Platform(
        Settings(home=home, database_url=db_url, secret_key=SecretStr(SECRET), environment="test")
    )
    with platform.sessions() as session:
        for weight, auc in ((1, 0.78), (2, 0.81), (3, 0.84)):
            registry.register(
                session,
                platform.audit_key,
                platform.artifact_dir,
                name=MODEL,
                model={"w": weight},
                kind="credit.test",
                actor="e2e",
                metrics={"auc": auc, "ks": round(auc - 0.4, 3)},
            )
        session.commit()
    platform.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``finai init``, a registered model, then uvicorn on a free port until the module ends."""
    home = tmp_path_factory.mktemp("finai-home")
    db_url = f"sqlite:///{home / 'finai.db'}"
    env = {
        **os.environ,
        "FINAI_HOME": str(home),
        "FINAI_DATABASE_URL": db_url,
        "FINAI_SECRET_KEY": SECRET,
        "FINAI_ENVIRONMENT": "local",
    }
    init = subprocess.run(
        [str(BIN / "finai"), "init", "--no-demo"],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        check=True,
    )
    found = TOKEN.search(init.stdout)
    assert found, init.stderr
    _register_model(home, db_url)
    port = _free_port()
    log = home / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "finai.api:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=home,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield Server(url=url, admin_token=found.group(0), home=home, db_url=db_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose script errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(message: ConsoleMessage) -> None:
        # failed loads are judged below, by kind: a refused sign-in page is expected
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            errors.append(f"{response.status} for {response.url}")

    opened.on("console", on_console)
    opened.on("response", on_response)
    yield opened
    context.close()
    assert not errors, f"browser errors: {errors}"


def sign_in(page: Page, server: Server, token: str) -> None:
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/login")
    page.fill("#api_key", token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/")


def test_a_bad_key_is_refused(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/login")
    page.fill("#api_key", "finai_000000000000_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-error")).to_contain_text("not valid")
    # no session; only the sign-in form's fresh pre-session cookie, so a retry works
    [cookie] = page.context.cookies()
    assert cookie["name"] == "finai_login"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert page.locator('input[name="csrf_token"]').input_value() == cookie["value"]
    assert page.request.get(f"{server.url}/models", max_redirects=0).status == 303
    # the refused page's form signs in on a second try
    page.fill("#api_key", server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/")


def test_a_sign_in_posted_from_another_site_is_refused(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/login")  # the visitor holds a sign-in cookie of their own
    with urllib.request.urlopen(f"{server.url}/login", timeout=10) as response:
        attackers = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode())
    assert attackers
    evil = (
        f'<form method="post" action="{server.url}/login">'
        f'<input name="api_key" value="{server.admin_token}">'
        f'<input name="csrf_token" value="{attackers.group(1)}">'
        "<button>Win a prize</button></form>"
    )
    page.route(
        "http://evil.test/", lambda route: route.fulfill(body=evil, content_type="text/html")
    )
    page.goto("http://evil.test/")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Win a prize").click()
    refused = navigation.value
    assert refused is not None
    assert refused.status == 403
    expect(page.locator(".flash-error")).to_have_text(
        "Your sign-in form expired; please try again."
    )
    assert "finai_session" not in {cookie["name"] for cookie in page.context.cookies()}
    assert page.request.get(f"{server.url}/", max_redirects=0).status == 303


def test_an_admin_reviews_promotes_verifies_and_signs_out(
    page: Page, server: Server, tmp_path: Path
) -> None:
    sign_in(page, server, server.admin_token)
    [cookie] = page.context.cookies()  # the pre-session cookie is gone
    assert cookie["name"] == "finai_session"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert server.admin_token not in cookie["value"]

    # overview: who is signed in, counts, and two charts drawn by plotly.js
    expect(page.locator(".who-name")).to_have_text("first admin")
    expect(page.locator(".who .badge")).to_have_text("admin")
    expect(page.locator(".nav a")).to_have_text(
        [
            "Overview",
            "Models",
            "Credit",
            "Fraud",
            "Governance",
            "Monitoring",
            "Assist",
            "Audit",
            "Keys",
        ]
    )
    models_stat = page.locator(".stat", has_text="Models")
    expect(models_stat.locator(".stat-value")).to_have_text("1")
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(2)

    # models: the list, then the model with its versions and metric chart
    page.get_by_role("link", name="Models", exact=True).click()
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    card = page.locator(f'[data-model="{MODEL}"]')
    expect(card.get_by_role("link", name=MODEL)).to_be_visible()
    expect(card.locator(".stage-candidate")).to_have_count(3)
    expect(card).to_contain_text("no champion")
    page.screenshot(path=tmp_path / "models.png", full_page=True)
    card.get_by_role("link", name=MODEL).click()
    expect(page).to_have_url(f"{server.url}/models/{MODEL}")
    rows = page.locator("table.versions tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator(".stage-candidate")).to_have_count(3)
    chart = page.locator(".js-plotly-plot")
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart.locator(".bars .point")).to_have_count(3)
    expect(chart).to_contain_text("auc by version")
    page.screenshot(path=tmp_path / "model.png", full_page=True)

    # four eyes: v3 (registered by "e2e") needs this admin's approval before promotion
    review = page.locator("#review")
    expect(review).to_contain_text("Promotion needs an approval")
    expect(page.locator('tr[data-version="3"]').get_by_role("button")).to_have_count(0)
    review.locator("textarea").fill("Reviewed in the browser: AUC 0.84")
    review.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash-ok")).to_have_text(f"{MODEL} v3 approved.")
    expect(page.locator("#review .approvals")).to_contain_text("AUC 0.84")

    # promote v3: the stage changes and the flash says so
    page.locator('tr[data-version="3"]').get_by_role("button", name="Promote").click()
    expect(page.locator(".flash-ok")).to_have_text(f"{MODEL} v3 is now the champion.")
    expect(page.locator('tr[data-version="3"] .badge')).to_have_text("champion")
    expect(page.locator('tr[data-version="3"]').get_by_role("button")).to_have_count(0)
    # promoting the champion is impossible from the page; another version still can be
    page.locator('tr[data-version="2"]').get_by_role("link", name="v2").click()
    page.locator("#review textarea").fill("v2 reviewed")
    page.locator("#review").get_by_role("button", name="Approve").click()
    page.locator('tr[data-version="2"]').get_by_role("button", name="Promote").click()
    expect(page.locator('tr[data-version="2"] .badge')).to_have_text("champion")
    expect(page.locator('tr[data-version="3"] .badge')).to_have_text("retired")
    page.get_by_role("button", name="Roll back champion").click()
    expect(page.locator(".flash-ok")).to_contain_text("v3 is the champion again")
    expect(page.locator(".model-card .card-head")).to_contain_text("champion v3")
    page.screenshot(path=tmp_path / "model-after.png", full_page=True)
    # the card of v3 names its approval and its stages
    page.get_by_role("link", name="Model card").click()
    card_doc = page.locator("article.model-card-doc")
    expect(card_doc).to_contain_text("AUC 0.84")
    expect(card_doc).to_contain_text("retired → champion")

    # audit: the promotion is recorded and the chain verifies
    page.get_by_role("link", name="Audit").click()
    expect(page.locator("tbody tr").first).to_contain_text("model.rollback")
    expect(page.locator("tbody")).to_contain_text("model.promote")
    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator(".flash-ok")).to_have_text(re.compile(r"Chain intact: \d+ entries"))

    # keys: create one; its token is shown once
    page.get_by_role("link", name="Keys").click()
    page.get_by_label("Name").fill("e2e auditor")
    page.get_by_label("Role").select_option("auditor")
    page.get_by_role("button", name="Create key").click()
    token = page.locator("#new-token").inner_text()
    assert TOKEN.fullmatch(token)
    expect(page.locator('tr:has-text("e2e auditor") .badge.role')).to_have_text("auditor")
    page.get_by_role("link", name="Keys").click()
    expect(page.locator('tr:has-text("e2e auditor")')).to_have_count(1)
    expect(page.locator("#new-token")).to_have_count(0)

    # sign out: back to the sign-in page, and pages are closed again
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/login")
    expect(page.locator(".flash-ok")).to_have_text("Signed out first admin.")
    page.goto(f"{server.url}/audit")
    expect(page).to_have_url(f"{server.url}/login")

    # the new auditor sees no Keys link and is told so when going there
    sign_in(page, server, token)
    expect(page.locator(".nav a")).to_have_text(
        ["Overview", "Models", "Credit", "Fraud", "Governance", "Monitoring", "Assist", "Audit"]
    )
    response = page.goto(f"{server.url}/keys")
    assert response is not None
    assert response.status == 403
    expect(page.locator(".error-page")).to_contain_text("which may not open this page")


def _load_demo(server: Server) -> None:
    platform = Platform(
        Settings(
            home=server.home,
            database_url=server.db_url,
            secret_key=SecretStr(SECRET),
            environment="test",
        )
    )
    try:
        load_demo(platform)
    finally:
        platform.close()


def test_an_admin_reviews_the_credit_model_and_decides_an_applicant(
    page: Page, server: Server, tmp_path: Path
) -> None:
    _load_demo(server)  # the policy and the demo model, as ``finai init`` loads them
    sign_in(page, server, server.admin_token)
    page.locator(".nav a", has_text="Credit").click()
    expect(page).to_have_url(f"{server.url}/credit")
    expect(page.get_by_role("heading", name="Credit", exact=True)).to_be_visible()

    # the model, why it was chosen, and four plots drawn by plotly.js
    card = page.locator(f'[data-model="{DEMO_MODEL}"]')
    expect(card.locator(".stage-champion")).to_have_text("champion")
    expect(card).to_contain_text("Why this algorithm")
    expect(card.locator('[data-metric="AUC"] .metric-value')).to_have_text(re.compile(r"0\.\d{3}"))
    plots = page.locator(".js-plotly-plot")
    expect(plots).to_have_count(4)
    for i, title in enumerate(["ROC curve", "KS", "Calibration", "Score distribution"]):
        expect(plots.nth(i).locator(".main-svg").first).to_be_visible()
        expect(plots.nth(i)).to_contain_text(title)
    # the chosen algorithm's table: the scorecard's points, or the GBM's feature importance
    expect(page.locator(".scorecard tbody tr, .importance tbody tr").first).to_be_visible()
    expect(page.locator(".policy")).to_contain_text("Policy v1")
    page.screenshot(path=tmp_path / "credit.png", full_page=True)

    # decide one applicant
    form = page.locator("form.decide-form")
    applicant = {
        "Monthly income": "2600",
        "Monthly debt": "950",
        "Employment years": "2",
        "Loan amount": "6000",
        "Term months": "48",
        "Credit utilisation": "0.55",
        "Prior defaults": "0",
        "Inquiries 6m": "3",
        "Region": "south",
        "Home ownership": "rent",
        "Purpose": "business",
    }
    for label, value in applicant.items():
        form.get_by_label(label, exact=True).fill(value)
    # fields only the policy reads carry a hint in their label ("read by the policy only")
    form.get_by_label("Age").fill("29")
    form.get_by_label("Declared bankruptcy").select_option("no")
    form.get_by_role("button", name="Decide").click()

    # the decision page: outcome, figures, reasons and their chart
    expect(page).to_have_url(
        re.compile(rf"{re.escape(server.url)}/credit/decisions/[0-9a-f]{{32}}$")
    )
    expect(page.locator(".flash-ok")).to_contain_text("Decided: ")
    expect(page.locator(".decision-figures .outcome")).to_have_text(
        re.compile(r"approve|refer|decline")
    )
    reasons = page.locator(".reason-list li")
    expect(reasons.first).to_be_visible()
    assert 1 <= reasons.count() <= 4
    chart = page.locator(".js-plotly-plot")
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart).to_contain_text("What lowered this decision")
    page.screenshot(path=tmp_path / "decision.png", full_page=True)

    # the credit page lists it, linking back
    decision_url = page.url
    page.locator(".nav a", has_text="Credit").click()
    rows = page.locator("tr[data-decision]")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".outcome")).to_have_text(re.compile(r"approve|refer|decline"))
    page.locator("#decisions").screenshot(path=tmp_path / "credit-decisions.png")
    rows.first.get_by_role("link").click()
    expect(page).to_have_url(decision_url)
