"""The Assist page in headless Chromium: the live queue, the plots, a conversation, the KB."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr

from finai.assist import records
from finai.assist.assistant import Source, Turn
from finai.config import Settings
from finai.context import Platform
from finai.store import KnowledgeEntryRow
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import finai_cli, server_env, serving

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@dataclass(frozen=True)
class Server:
    """A uvicorn process over a database holding conversations, and its admin token."""

    url: str
    admin_token: str
    platform: Platform


def _turn(intent: str, reason: str | None, score: float) -> Turn:
    answered = reason is None
    return Turn(
        text=f"a question about {intent} from [EMAIL]",
        redacted={"EMAIL": 1},
        language="en",
        intent=intent,
        confidence=0.9,
        action="answer" if answered else "handoff",
        sentiment="negative" if score < 0 else "neutral",
        sentiment_score=score,
        answer="Cards arrive in 5 days. (Source: Card arrival, card-arrival version 1)"
        if answered
        else None,
        sources=(Source("card-arrival", 1, "Card arrival", 0.8),) if answered else (),
        handoff_reason=reason,
        reply="Cards arrive in 5 days." if answered else "A person will reply here.",
    )


def add_turn(platform: Platform, intent: str, reason: str | None, score: float) -> str:
    with platform.sessions() as session:
        done = records.record_turn(
            session,
            platform.vault,
            platform.audit_key,
            turn=_turn(intent, reason, score),
            conversation_id=None,
            owner="e2e",
            channel="text",
            actor="e2e",
        )
        session.commit()
    return done.conversation.id


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``finai init --no-demo``, three conversations and a KB entry, then ``finai serve``."""
    home = tmp_path_factory.mktemp("finai-assist")
    env = server_env(home, f"sqlite:///{home / 'finai.db'}")
    init = finai_cli(env, "init", "--no-demo")
    assert init.returncode == 0, init.stderr
    platform = Platform(
        Settings(
            home=home,
            database_url=env["FINAI_DATABASE_URL"],
            secret_key=SecretStr(TEST_SECRET),
            environment="test",
        )
    )
    add_turn(platform, "card_arrival", None, 0.1)
    add_turn(platform, "card_arrival", "no_answer", -0.2)
    add_turn(platform, "lost_or_stolen_card", "negative_sentiment", -0.9)
    with platform.sessions() as session:
        session.add(
            KnowledgeEntryRow(
                key="card-arrival",
                version=1,
                title="Card arrival",
                body="Cards arrive in 5 days.",
                source="faq.md",
                intents=["card_arrival"],
                created_by="e2e",
            )
        )
        session.commit()
    try:
        with serving(env, home / "server.log") as url:
            yield Server(url=url, admin_token=init.stdout.strip(), platform=platform)
    finally:
        platform.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert not errors, f"browser errors: {errors}"


def test_staff_work_the_live_queue_read_a_conversation_and_edit_the_kb(
    page: Page, server: Server
) -> None:
    page.goto(f"{server.url}/login")
    page.fill("#api_key", server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    page.locator(".nav a", has_text="Assist").click()
    expect(page).to_have_url(f"{server.url}/assist")
    expect(page.get_by_role("heading", name="Assist", exact=True)).to_be_visible()

    # the queue: two handoffs, oldest first; the plots of intents and sentiment
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("no answer")
    expect(rows.nth(1)).to_contain_text("negative sentiment")
    charts = page.locator(".assist-charts .js-plotly-plot")
    expect(charts).to_have_count(2)
    expect(charts.first.locator(".main-svg").first).to_be_visible()
    expect(charts.first).to_contain_text("by intent")
    expect(charts.nth(1)).to_contain_text("Sentiment")

    # a new handoff shows up without reloading the page
    add_turn(server.platform, "card_arrival", "customer_asked", 0.0)
    expect(rows).to_have_count(3, timeout=15_000)
    expect(rows.nth(2)).to_contain_text("customer asked")

    # open the first conversation: messages redacted, take it, reply, resolve
    rows.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/assist/conversations/[0-9a-f]{32}$"))
    expect(page.locator('tr[data-sender="customer"]')).to_contain_text("[EMAIL]")
    page.locator(".handoff").get_by_role("button", name="Take").click()
    expect(page.locator(".flash-ok")).to_contain_text("assigned to first admin")
    page.locator(".reply-form textarea").fill("Hello, I am on it. Mail me at ann@bank.example")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator('tr[data-sender="staff"]')).to_contain_text("Mail me at [EMAIL]")
    page.locator(".handoff").get_by_role("button", name="Resolve").click()
    expect(page.locator(".flash-ok")).to_contain_text("resolved")
    page.get_by_role("link", name="Back to the queue").click()
    expect(rows).to_have_count(2)

    # the knowledge base: edit an entry, a new version is stored
    kb = page.locator("#kb")
    expect(kb.locator('tr[data-entry="card-arrival"]')).to_contain_text("v1")
    kb.locator('input[name="key"]').fill("card-arrival")
    kb.locator('input[name="title"]').fill("Card arrival")
    kb.locator("textarea").fill("Cards arrive within 3 working days.")
    kb.get_by_role("button", name="Save entry").click()
    expect(page.locator(".flash-ok")).to_have_text("Saved card-arrival as version 2.")
    expect(page.locator('#kb tr[data-entry="card-arrival"]')).to_contain_text("v2")
