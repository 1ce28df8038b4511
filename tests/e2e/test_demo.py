"""A fresh install as ``make run`` makes it: demo policy and models, then decisions over HTTP."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from finai.datasets import make_loan_book
from tests.e2e.conftest import finai_cli, server_env, serving
from tests.fraud.conftest import REDIS_URL

pytestmark = pytest.mark.e2e


def test_fresh_install_decides_applicants_with_the_demo_model(tmp_path: Path) -> None:
    env = server_env(tmp_path / "home", f"sqlite:///{tmp_path / 'finai.db'}")
    env["FINAI_REDIS_URL"] = REDIS_URL
    init = finai_cli(env, "init")
    assert init.returncode == 0, init.stderr
    assert "demo model credit-demo:1 trained and promoted" in init.stderr
    assert "demo model demo-fraud:1 trained and promoted" in init.stderr
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
        run = uuid.uuid4().hex  # ids of their own: the Redis state outlives the test
        transaction = {
            "transaction_id": f"tx-{run}",
            "timestamp": "2026-07-01T10:00:00Z",
            "customer_id": f"card-{run}",
            "terminal_id": f"terminal-{run}",
            "amount": 42.5,
        }
        scored = http.post("/v1/fraud/score", json=transaction, headers=headers)
        assert scored.status_code == 200, scored.text
        assert scored.json()["model_name"] == "demo-fraud"
        assert scored.json()["degraded"] is False
        retried = http.post("/v1/fraud/score", json=transaction, headers=headers).json()
        assert retried["replayed"] and retried["score"] == scored.json()["score"]
    again = finai_cli(env, "init")
    assert again.returncode == 0
    assert "trained" not in again.stderr
    verify = finai_cli(env, "audit", "verify")
    assert verify.returncode == 0
    assert verify.stdout.startswith("audit chain intact")
