from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e


def test_real_server_serves_health_auth_metrics_and_json_logs(live_server: LiveServer) -> None:
    token = live_server.admin_token
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "e2e-req-1"}
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert http.get("/readyz").json()["migrations_current"] is True
        who = http.get("/v1/whoami", headers=headers)
        assert who.json()["role"] == "admin"
        assert who.headers["x-request-id"] == "e2e-req-1"
        assert http.get("/v1/models").status_code == 401
        created = http.post("/v1/keys", json={"name": "ops", "role": "operator"}, headers=headers)
        new_token = created.json()["token"]
        assert http.get("/v1/keys", headers={"X-API-Key": new_token}).status_code == 403
        metrics = http.get("/metrics").text
        assert 'route="/v1/whoami",status="200"' in metrics
        assert 'route="/v1/keys",status="403"' in metrics
        docs = http.get("/openapi.json").json()
        assert "/v1/models/{name}/versions/{version}/promote" in docs["paths"]
    log_text = live_server.log.read_text()
    lines = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["event"] == "request"]
    assert any(
        line["request_id"] == "e2e-req-1" and line["route"] == "/v1/whoami" for line in requests
    )
    assert token not in log_text
    assert new_token not in log_text
    assert token.split("_", 2)[2] not in log_text


def test_cli_sees_what_the_server_wrote(live_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {live_server.admin_token}"}
    for name in ("a", "b"):
        response = httpx.post(
            f"{live_server.url}/v1/keys", json={"name": name, "role": "auditor"}, headers=headers
        )
        assert response.status_code == 201
    verify = live_server.cli("audit", "verify")
    assert (verify.returncode, verify.stdout.strip()) == (0, "audit chain intact: 3 entries")
    again = live_server.cli("init", "--no-demo")
    assert again.returncode == 0
    assert again.stdout.strip() == ""
    assert "exists already" in again.stderr
