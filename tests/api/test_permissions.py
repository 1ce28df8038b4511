"""Walk every route of the app against the one permission table, for every role."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from finai.api import create_app
from finai.api.permissions import PERMISSIONS, PUBLIC
from finai.context import Platform
from finai.security import Role
from tests.conftest import auth

SAMPLE = {
    "name": "no-such-model",
    "version": "1",
    "key_id": "ffffffffffff",
    "filename": "app.css",
    "decision_id": "0" * 32,
    "job_id": "0" * 16,
    "transaction_id": "no-such-transaction",
    "alert_id": "0" * 32,
    "handoff_id": "0" * 32,
    "conversation_id": "0" * 32,
}


def _routes(app: FastAPI) -> list[tuple[str, str, BaseRoute]]:
    found = []
    for context in iter_route_contexts(app.routes):
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                found.append((method, context.path or "", context.original_route))
    assert found
    return found


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)


def test_every_route_has_exactly_one_table_entry(platform: Platform) -> None:
    app = create_app(platform)
    routes = {(method, path) for method, path, _ in _routes(app)}
    missing = routes - PERMISSIONS.keys()
    stale = PERMISSIONS.keys() - routes
    assert not missing, f"routes without a permission entry: {sorted(missing)}"
    assert not stale, f"permission entries without a route: {sorted(stale)}"


def test_every_api_route_answers_each_role_as_the_table_says(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    checked = 0
    for method, path, route in _routes(client.app):  # type: ignore[arg-type]
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        allowed = PERMISSIONS[(method, path)]
        url = _fill(path)
        if allowed is PUBLIC:
            response = client.request(method, url)
            assert response.status_code not in (401, 403), (method, path)
            continue
        anonymous = client.request(method, url, json={})
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["content-type"] == "application/problem+json"
        for role in Role:
            response = client.request(method, url, json={}, headers=auth(tokens[role]))
            if role.value in allowed:
                assert response.status_code not in (401, 403), (method, path, role)
            else:
                assert response.status_code == 403, (method, path, role)
                assert response.json()["status"] == 403
            checked += 1
    assert checked >= 40


def test_a_bad_key_is_401_whatever_the_route(client: TestClient) -> None:
    for header in (
        {"Authorization": "Bearer finai_000000000000_" + "a" * 43},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"X-API-Key": "nonsense"},
    ):
        response = client.get("/v1/models", headers=header)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", list(Role))
def test_whoami_names_the_role(client: TestClient, tokens: dict[Role, str], role: Role) -> None:
    body = client.get("/v1/whoami", headers={"X-API-Key": tokens[role]}).json()
    assert body["role"] == role.value
    assert tokens[role].startswith(f"finai_{body['key_id']}_")
