"""The Assist page through the app in-process: queue, plots, conversation, KB editor."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from finai.context import Platform
from finai.security import Role
from finai.store import AssistMessageRow, KnowledgeEntryRow
from tests.e2e.test_assist_browser import add_turn
from tests.web.test_views import sign_in

HANDOFF = re.compile(r'data-handoff="([0-9a-f]{32})"')


def test_the_page_shows_the_queue_the_plots_and_the_kb(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    add_turn(platform, "card_arrival", None, 0.2)
    add_turn(platform, "card_arrival", "no_answer", -0.3)
    with platform.sessions() as session:
        session.add(
            KnowledgeEntryRow(
                key="card-arrival",
                version=1,
                title="Card arrival",
                body="Cards arrive in 5 days.",
                source="faq.md",
                intents=["card_arrival"],
                created_by="t",
            )
        )
        session.commit()
    sign_in(client, tokens[Role.ANALYST])
    html = client.get("/assist").text
    assert html.count('class="plotly-graph-div"') == 2
    assert "/static/plotly.min.js" in html
    assert len(HANDOFF.findall(html)) == 1
    assert "no answer" in html and 'data-entry="card-arrival"' in html
    assert 'action="/assist/kb"' in html
    fragment = client.get("/assist/queue").text
    assert "<html" not in fragment and len(HANDOFF.findall(fragment)) == 1


def test_staff_open_take_reply_and_resolve(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    cid = add_turn(platform, "lost_or_stolen_card", "customer_asked", 0.0)
    csrf = sign_in(client, tokens[Role.ANALYST])
    [hid] = HANDOFF.findall(client.get("/assist").text)
    page = client.get(f"/assist/conversations/{cid}")
    assert page.status_code == 200 and "[EMAIL]" in page.text
    taken = client.post(
        f"/assist/handoffs/{hid}/assign", data={"csrf_token": csrf, "back": "conversation"}
    )
    assert taken.status_code == 200 and "assigned to test analyst" in taken.text
    replied = client.post(
        f"/assist/conversations/{cid}/reply",
        data={"csrf_token": csrf, "text": "On it, call 0207 946 0958 if you prefer"},
    )
    assert "Reply sent." in replied.text
    with platform.sessions() as session:
        staff = session.scalars(select(AssistMessageRow).where(AssistMessageRow.sender == "staff"))
        assert [m.redacted for m in staff] == [{"PHONE": 1}]
    done = client.post(f"/assist/handoffs/{hid}/resolve", data={"csrf_token": csrf})
    assert done.status_code == 200 and "resolved" in done.text
    assert not HANDOFF.findall(client.get("/assist/queue").text)


def test_an_auditor_reads_but_cannot_act(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    add_turn(platform, "card_arrival", "no_answer", -0.3)
    csrf = sign_in(client, tokens[Role.AUDITOR])
    html = client.get("/assist").text
    assert len(HANDOFF.findall(html)) == 1
    assert "/resolve" not in html and 'action="/assist/kb"' not in html
    refused = client.post("/assist/kb", data={"csrf_token": csrf, "key": "k"})
    assert refused.status_code == 403


def test_the_kb_editor_stores_a_new_version(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    csrf = sign_in(client, tokens[Role.ADMIN])
    form = {"csrf_token": csrf, "key": "pin-change", "title": "Changing your PIN", "intents": ""}
    first = client.post("/assist/kb", data={**form, "body": "Change it at any ATM."})
    assert "Saved pin-change as version 1." in first.text
    second = client.post("/assist/kb", data={**form, "body": "Change it in the app or at an ATM."})
    assert "Saved pin-change as version 2." in second.text
    missing = client.post("/assist/kb", data={**form, "body": ""})
    assert "body is required" in missing.text
    with platform.sessions() as session:
        versions = session.scalars(select(KnowledgeEntryRow.version)).all()
    assert sorted(versions) == [1, 2]
