"""A fresh install as ``make run`` makes it: demo policy and models, then decisions over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis

from finai.datasets import make_loan_book
from tests.conftest import REDIS_URL, drop_keys, unique_prefix
from tests.e2e.conftest import finai_cli, server_env, serving

pytestmark = pytest.mark.e2e


def test_fresh_install_decides_applicants_with_the_demo_model(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    env = server_env(tmp_path / "home", f"sqlite:///{tmp_path / 'finai.db'}")
    env["FINAI_REDIS_URL"] = REDIS_URL
    env["FINAI_REDIS_PREFIX"] = prefix = unique_prefix()
    init = finai_cli(env, "init")
    assert init.returncode == 0, init.stderr
    assert "demo model credit-demo:1 trained and promoted" in init.stderr
    assert "demo model demo-fraud:1 trained and promoted" in init.stderr
    # four eyes, honestly: registered by the demo trainer, approved by the installer
    for model in ("credit-demo", "demo-fraud"):
        card = finai_cli(env, "models", "card", model)
        assert card.returncode == 0, card.stderr
        assert "| Stage | champion |" in card.stdout
        assert "by system:demo |" in card.stdout
        assert "approved by system:init" in card.stdout
        assert "not for real decisions" in card.stdout
    operator = finai_cli(env, "keys", "create", "--name", "desk", "--role", "operator")
    token = operator.stdout.strip()
    applicants = make_loan_book(3, seed=5).frame.to_dict(orient="records")
    with serving(env, tmp_path / "server.log") as url, httpx.Client(base_url=url) as http:
        headers = {"X-API-Key": token}
        made = []
        for row in applicants:
            body = {
                "model": "credit-demo",
                "applicant": {k: (None if v != v else v) for k, v in row.items()},
            }
            response = http.post("/v1/credit/decisions", json=body, headers=headers)
            assert response.status_code == 201, response.text
            made.append(response.json())
        assert {d["model_name"] for d in made} == {"credit-demo"}
        assert all(d["outcome"] in {"approve", "refer", "decline"} for d in made)
        listed = http.get("/v1/credit/decisions", headers=headers).json()
        assert {d["id"] for d in listed["data"]} == {d["id"] for d in made}
        transaction = {
            "transaction_id": "tx-1",
            "timestamp": "2026-07-01T10:00:00Z",
            "customer_id": "card-1",
            "terminal_id": "terminal-1",
            "amount": 42.5,
        }
        scored = http.post("/v1/fraud/score", json=transaction, headers=headers)
        assert scored.status_code == 200, scored.text
        assert scored.json()["model_name"] == "demo-fraud"
        assert scored.json()["degraded"] is False
        retried = http.post("/v1/fraud/score", json=transaction, headers=headers).json()
        assert retried["replayed"] and retried["score"] == scored.json()["score"]
    assert list(redis_client.scan_iter(match=f"{prefix}*"))  # the state lives in Redis
    drop_keys(redis_client, prefix)
    again = finai_cli(env, "init")
    assert again.returncode == 0
    assert "trained" not in again.stderr
    verify = finai_cli(env, "audit", "verify")
    assert verify.returncode == 0
    assert verify.stdout.startswith("audit chain intact")
