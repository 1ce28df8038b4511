from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from finai.context import Platform
from finai.logs import JsonFormatter
from finai.security import Role, audit
from finai.store import ApiKeyRow, AuditEntryRow
from tests.conftest import auth
from tests.factories import register_versions


def _register(platform: Platform, n: int = 2) -> None:
    register_versions(platform, [{"auc": 0.7 + i / 100} for i in range(n)])


def _count(platform: Platform, table: type) -> int:
    with platform.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_health_ready_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready == {
        "status": "ok",
        "database": ready["database"],
        "migrations_current": True,
    }
    assert ready["database"] in {"sqlite", "postgresql"}
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'finai_http_requests_total{method="GET",route="/readyz",status="200"} 1.0' in (
        metrics.text
    )
    assert "finai_http_request_duration_seconds_bucket" in metrics.text


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]
    assert len(made) == 32


def test_models_list_show_promote_rollback(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    _register(platform)
    admin = auth(tokens[Role.ADMIN])
    listing = client.get("/v1/models", headers=auth(tokens[Role.AUDITOR])).json()
    assert listing == {
        "data": [{"name": "pd-model", "versions": 2, "latest": 2, "champion": None}],
        "count": 1,
    }
    versions = client.get("/v1/models/pd-model", headers=admin).json()
    assert [v["version"] for v in versions["data"]] == [2, 1]
    one = client.get("/v1/models/pd-model/versions/1", headers=admin).json()
    assert one["metrics"] == {"auc": 0.7}
    assert one["stage"] == "candidate"
    assert len(one["sha256"]) == 64
    for version in (1, 2):
        approval = {"comment": "reviewed"}
        url = f"/v1/models/pd-model/versions/{version}"
        assert client.post(f"{url}/approve", json=approval, headers=admin).status_code == 201
        promoted = client.post(f"{url}/promote", headers=admin)
        assert promoted.json()["stage"] == "champion"
    again = client.post("/v1/models/pd-model/versions/2/promote", headers=admin)
    assert again.status_code == 409
    assert again.json()["errors"] == [
        {"field": "version", "message": "pd-model:2 is already the champion"}
    ]
    back = client.post("/v1/models/pd-model/rollback", headers=admin).json()
    assert (back["version"], back["stage"]) == (1, "champion")
    missing = client.get("/v1/models/pd-model/versions/7", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "model 'pd-model' has no version 7"


def test_keys_create_list_revoke(client: TestClient, tokens: dict[Role, str]) -> None:
    admin = auth(tokens[Role.ADMIN])
    created = client.post("/v1/keys", json={"name": "batch job", "role": "operator"}, headers=admin)
    assert created.status_code == 201
    body = created.json()
    token = body.pop("token")
    assert token.startswith(f"finai_{body['id']}_")
    assert client.get("/v1/whoami", headers=auth(token)).json()["role"] == "operator"
    listed = client.get("/v1/keys", headers=admin).json()
    assert listed["count"] == 5
    assert all("token" not in k and "secret_hash" not in k for k in listed["data"])
    assert client.get(f"/v1/keys/{body['id']}", headers=admin).json()["active"] is True
    revoked = client.delete(f"/v1/keys/{body['id']}", headers=admin).json()
    assert revoked["active"] is False
    assert client.get("/v1/whoami", headers=auth(token)).status_code == 401
    assert client.delete(f"/v1/keys/{body['id']}", headers=admin).status_code == 409


def test_audit_entries_and_verify(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    _register(platform, 1)
    auditor = auth(tokens[Role.AUDITOR])
    entries = client.get("/v1/audit/entries", headers=auditor, params={"limit": 2}).json()
    assert [e["action"] for e in entries["data"]] == ["model.register", "key.create"]
    older = client.get(
        "/v1/audit/entries", headers=auditor, params={"before": entries["data"][-1]["seq"]}
    ).json()
    assert all(e["seq"] < entries["data"][-1]["seq"] for e in older["data"])
    filtered = client.get(
        "/v1/audit/entries", headers=auditor, params={"action": "model.register"}
    ).json()
    assert filtered["count"] == 1
    assert client.get("/v1/audit/verify", headers=auditor).json() == {
        "ok": True,
        "count": 5,
        "first_bad_seq": None,
        "reason": None,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "role": "root"}, "role"),
        ({"name": "", "role": "admin"}, "name"),
        ({"name": "x", "role": "admin", "extra": 1}, "extra"),
        ({"role": "admin"}, "name"),
        ({"name": "x", "role": "admin", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "x", "role": "admin", "expires_in_days": "soon"}, "expires_in_days"),
        ({"name": "x", "role": "admin", "expires_at": "2099-01-01T00:00:00Z"}, "expires_at"),
        ({"name": 5, "role": "admin"}, "name"),
    ],
)
def test_bad_key_bodies_name_the_field_and_change_nothing(
    client: TestClient, platform: Platform, tokens: dict[Role, str], body: dict, field: str
) -> None:
    before = (_count(platform, ApiKeyRow), _count(platform, AuditEntryRow))
    response = client.post("/v1/keys", json=body, headers=auth(tokens[Role.ADMIN]))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]
    assert (_count(platform, ApiKeyRow), _count(platform, AuditEntryRow)) == before


def test_malformed_json_and_oversized_bodies(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    headers = {**auth(tokens[Role.ADMIN]), "content-type": "application/json"}
    broken = client.post("/v1/keys", content=b'{"name": "x", ', headers=headers)
    assert broken.status_code == 422
    assert broken.json()["title"] == "Invalid input"
    limit = platform.settings.max_body_bytes
    huge = client.post("/v1/keys", content=b" " * (limit + 1), headers=headers)
    assert huge.status_code == 413
    assert huge.json()["detail"] == f"request body exceeds {limit} bytes"


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert (response.status_code, response.json()["title"]) == (404, "Not found")
    assert client.put("/healthz").status_code == 405


def test_logs_are_json_with_request_ids_and_never_hold_keys(
    client: TestClient, tokens: dict[Role, str], caplog: pytest.LogCaptureFixture
) -> None:
    token = tokens[Role.ADMIN]
    with caplog.at_level(logging.INFO, logger="finai"):
        first = client.get("/v1/models?secret=hunter2", headers=auth(token))
        second = client.post("/v1/keys", json={"name": "n", "role": "admin"}, headers=auth(token))
    access = [r for r in caplog.records if r.name == "finai.access"]
    assert [getattr(r, "route", None) for r in access] == ["/v1/models", "/v1/keys"]
    lines = [json.loads(JsonFormatter().format(r)) for r in access]
    assert [line["request_id"] for line in lines] == [
        first.headers["x-request-id"],
        second.headers["x-request-id"],
    ]
    assert [line["status"] for line in lines] == [200, 201]
    assert all(line["ts"].endswith("+00:00") for line in lines)
    text = caplog.text + "".join(str(vars(r)) for r in caplog.records)
    assert token not in text
    assert token.split("_", 2)[2] not in text
    assert "hunter2" not in text
    assert second.json()["token"] not in text


def test_chain_stays_intact_across_api_changes(
    client: TestClient, platform: Platform, tokens: dict[Role, str]
) -> None:
    admin = auth(tokens[Role.ADMIN])
    _register(platform)
    client.post("/v1/models/pd-model/versions/1/approve", json={"comment": "ok"}, headers=admin)
    client.post("/v1/models/pd-model/versions/1/promote", headers=admin)
    created = client.post("/v1/keys", json={"name": "k", "role": "auditor"}, headers=admin)
    client.delete(f"/v1/keys/{created.json()['id']}", headers=admin)
    with platform.sessions() as session:
        result = audit.verify(session, platform.audit_key)
        actions = [e.action for e in audit.entries(session, limit=5)]
    assert result.ok
    assert actions == [
        "key.revoke",
        "key.create",
        "model.promote",
        "model.approve",
        "model.register",
    ]


def test_control_characters_in_a_filter_are_refused_not_sent_to_the_database(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/v1/audit/entries", params={"action": "key\x00create"}, headers=auth(tokens[Role.ADMIN])
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "action"
