"""Four-eyes approval, model cards and the challenger over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from finai import registry
from finai.api.permissions import ADMIN, PERMISSIONS, READERS
from finai.context import Platform
from finai.security import Role, audit
from finai.store import ModelCardRow
from tests.conftest import auth
from tests.factories import key_id, register_versions

URL = "/v1/models/pd-model/versions"


def test_the_new_routes_have_their_permission_entries() -> None:
    assert PERMISSIONS[("POST", "/v1/models/{name}/versions/{version}/approve")] == ADMIN
    assert PERMISSIONS[("POST", "/v1/models/{name}/challenger")] == ADMIN
    assert PERMISSIONS[("GET", "/v1/models/{name}/versions/{version}/card")] == READERS | {
        Role.OPERATOR
    }
    assert PERMISSIONS[("POST", "/models/{name}/versions/{version}/approve")] == ADMIN
    assert PERMISSIONS[("POST", "/models/{name}/challenger")] == ADMIN
    assert PERMISSIONS[("GET", "/models/{name}/versions/{version}/card")] == READERS | {
        Role.OPERATOR
    }


def test_the_key_that_registered_a_version_cannot_approve_it(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    token = tokens[Role.ADMIN]
    register_versions(platform, [{}], actor=key_id(token))
    refused = client.post(f"{URL}/1/approve", json={"comment": "mine"}, headers=auth(token))
    assert refused.status_code == 403
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["field"] == "actor"
    assert "four-eyes" in problem["detail"]
    promote = client.post(f"{URL}/1/promote", headers=auth(token))
    assert promote.status_code == 409
    assert "four-eyes" in promote.json()["detail"]
    detail = client.get(f"{URL}/1", headers=auth(token)).json()
    assert (detail["stage"], detail["approvals"]) == ("candidate", [])


def test_approve_then_promote_and_the_version_shows_its_approvals(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    register_versions(platform, [{"auc": 0.7}])
    admin = auth(tokens[Role.ADMIN])
    for bad in ("  ", "\n\t", "x" * 2001, "ok\u0000", "bell\u0007"):
        refused = client.post(f"{URL}/1/approve", json={"comment": bad}, headers=admin)
        assert refused.status_code == 422, bad
        assert [e["field"] for e in refused.json()["errors"]] == ["comment"]
    assert client.post(f"{URL}/1/approve", json={}, headers=admin).status_code == 422
    assert (
        client.post(f"{URL}/1/approve", json={"comment": "x", "y": 1}, headers=admin).status_code
        == 422
    )
    analyst = client.post(
        f"{URL}/1/approve", json={"comment": "ok"}, headers=auth(tokens[Role.ANALYST])
    )
    assert analyst.status_code == 403
    made = client.post(f"{URL}/1/approve", json={"comment": "AUC checked"}, headers=admin)
    assert made.status_code == 201, made.text
    approval = made.json()
    assert approval["approved_by"] == key_id(tokens[Role.ADMIN])
    assert approval["comment"] == "AUC checked"
    twice = client.post(f"{URL}/1/approve", json={"comment": "again"}, headers=admin)
    assert twice.status_code == 409
    detail = client.get(f"{URL}/1", headers=auth(tokens[Role.OPERATOR])).json()
    assert [a["id"] for a in detail["approvals"]] == [approval["id"]]
    promoted = client.post(f"{URL}/1/promote", headers=admin)
    assert promoted.json()["stage"] == "champion"
    with platform.sessions() as session:
        entries = audit.entries(session, limit=2)
        assert [e.action for e in entries] == ["model.promote", "model.approve"]
        assert entries[0].payload["approvals"] == [
            {"id": approval["id"], "approved_by": approval["approved_by"]}
        ]
        # approval and promotion each rewrote the version's card
        row = session.scalars(select(ModelCardRow)).one()
        assert "| Stage | champion |" in row.markdown
        assert "AUC checked" in row.markdown


def test_the_card_as_markdown_and_html(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    register_versions(platform, [{"auc": 0.7}])
    auditor = auth(tokens[Role.AUDITOR])
    client.post(
        f"{URL}/1/approve",
        json={"comment": "<b>bold</b> claim"},
        headers=auth(tokens[Role.ADMIN]),
    )
    markdown = client.get(f"{URL}/1/card", headers=auditor)
    assert markdown.status_code == 200
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert markdown.text.startswith("# Model card: pd-model v1")
    assert "| auc | 0.7 |" in markdown.text
    with platform.sessions() as session:
        stored = session.scalars(select(ModelCardRow)).one()
    assert markdown.headers["x-card-sha256"] == stored.sha256
    assert markdown.text == stored.markdown
    html = client.get(f"{URL}/1/card?format=html", headers=auth(tokens[Role.OPERATOR]))
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["content-security-policy"] == "default-src 'none'"
    assert html.text.startswith("<!doctype html>")
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in html.text
    assert "<b>" not in html.text
    assert client.get(f"{URL}/1/card?format=pdf", headers=auditor).status_code == 422
    assert client.get(f"{URL}/9/card", headers=auditor).status_code == 404


def test_set_and_end_the_challenger(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    register_versions(platform, [{}, {}])
    admin = auth(tokens[Role.ADMIN])
    url = "/v1/models/pd-model/challenger"
    made = client.post(url, json={"version": 2}, headers=admin)
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["name"] == "pd-model"
    assert (body["challenger"]["version"], body["challenger"]["stage"]) == (2, "challenger")
    card = client.get(f"{URL}/2/card", headers=admin).text
    assert "| Stage | challenger |" in card
    assert "candidate → challenger" in card
    ended = client.post(url, json={"version": None}, headers=admin).json()
    assert ended == {"name": "pd-model", "challenger": None}
    again = client.post(url, json={"version": None}, headers=admin)
    assert again.status_code == 409
    assert client.post(url, json={}, headers=admin).status_code == 422
    assert client.post(url, json={"version": 0}, headers=admin).status_code == 422
    assert (
        client.post(url, json={"version": 2}, headers=auth(tokens[Role.ANALYST])).status_code == 403
    )
    with platform.sessions() as session:
        assert registry.challenger(session, "pd-model") is None
