"""The fraud API: scoring, idempotent retries, degraded answers, labels, the alert queue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from finai import fraud
from finai.api import create_app
from finai.context import Platform
from finai.security import Role
from finai.store import AuditEntryRow, FraudAlertRow, FraudLabelRow, FraudScoreRow
from tests.conftest import auth, make_platform
from tests.factories import promote
from tests.fraud.simulations import trained

MODEL = "demo-fraud"


def stored(client: TestClient) -> None:
    """Wait for the scores answered so far to be stored (they are written in batches)."""
    assert client.app.state.fraud_writer.flush()  # type: ignore[attr-defined]


def _count(platform: Platform, table: type) -> int:
    with platform.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _register(platform: Platform) -> None:
    with platform.sessions() as session:
        version = fraud.register_model(
            session, platform.audit_key, platform.artifact_dir, name=MODEL, result=trained(),
            actor="t",
        )  # fmt: skip
        promote(session, platform, name=MODEL, version=version.version)
        session.commit()


@pytest.fixture
def fraud_platform(platform: Platform) -> Platform:
    """A platform with a fraud model ``demo-fraud`` v1 as champion."""
    _register(platform)
    return platform


def tx(tid: str, **changes: Any) -> dict[str, Any]:
    body = {
        "transaction_id": tid,
        "timestamp": "2026-06-01T12:00:00Z",
        "customer_id": "c1",
        "terminal_id": "m1",
        "amount": 25.0,
    }
    return {**body, **changes}


def test_score_stores_audits_and_a_retry_gets_the_first_answer(
    fraud_platform: Platform, client: TestClient, tokens: dict[Role, str]
) -> None:
    headers = auth(tokens[Role.OPERATOR])
    first = client.post("/v1/fraud/score", json=tx("t1"), headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["action"] in {"allow", "review", "block"}
    assert (body["model_name"], body["model_version"]) == (MODEL, 1)
    assert not body["degraded"] and not body["replayed"]
    explained = client.post("/v1/fraud/score", json=tx("t0", explain=True), headers=headers)
    assert explained.json()["reasons"] or explained.json()["score"] < 0.01
    again = client.post("/v1/fraud/score", json=tx("t1"), headers=headers).json()
    assert again["replayed"] and again["score"] == body["score"]
    assert again["scored_at"] == body["scored_at"]
    keyed = {**headers, "Idempotency-Key": "t1"}
    assert client.post("/v1/fraud/score", json=tx("t1"), headers=keyed).json() == again
    mismatch = client.post("/v1/fraud/score", json=tx("t9"), headers=keyed)
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0]["field"] == "Idempotency-Key"
    stored(client)
    assert _count(fraud_platform, FraudScoreRow) == 2
    read = client.get("/v1/fraud/scores/t1", headers=auth(tokens[Role.AUDITOR])).json()
    assert read["score"] == body["score"] and read["source"] == "api"
    with fraud_platform.sessions() as session:
        audited = session.scalars(
            select(AuditEntryRow.payload).where(
                AuditEntryRow.action.in_(["fraud.score", "fraud.score.batch"])
            )
        ).all()
    assert sum(json.loads(entry).get("count", 1) for entry in audited) == 2  # both audited


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"transaction_id": ""}, "transaction_id"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"amount": -1}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "12.5"}, "amount"),
        ({"timestamp": 1780000000}, "timestamp"),
        ({"customer_id": "a\x00b"}, "customer_id"),
        ({"extra": 1}, "extra"),
        ({"model": "no such:0"}, "model"),
    ],
)
def test_bad_transactions_are_refused_with_the_field(
    fraud_platform: Platform,
    client: TestClient,
    tokens: dict[Role, str],
    changes: dict[str, Any],
    field: str,
) -> None:
    response = client.post(
        "/v1/fraud/score", json=tx("t1", **changes), headers=auth(tokens[Role.OPERATOR])
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text
    stored(client)
    assert _count(fraud_platform, FraudScoreRow) == 0


def test_too_late_and_unknown_model_change_nothing(
    fraud_platform: Platform, client: TestClient, tokens: dict[Role, str]
) -> None:
    headers = auth(tokens[Role.OPERATOR])
    assert client.post("/v1/fraud/score", json=tx("new"), headers=headers).status_code == 200
    late = client.post(
        "/v1/fraud/score", json=tx("old", timestamp="2026-05-20T12:00:00Z"), headers=headers
    )
    assert late.status_code == 422 and "timestamp" in late.text
    missing = client.post("/v1/fraud/score", json=tx("x", model="nope"), headers=headers)
    assert missing.status_code == 404
    stored(client)
    assert _count(fraud_platform, FraudScoreRow) == 1


def test_unreachable_redis_gives_a_degraded_answer_not_an_error(
    db_url: str, tmp_path: Path, tokens: dict[Role, str], fraud_platform: Platform
) -> None:
    down = make_platform(db_url, fraud_platform.settings.home)
    down.settings.redis_url = "redis://127.0.0.1:1/0"
    with TestClient(create_app(down)) as client:
        response = client.post(
            "/v1/fraud/score", json=tx("d1"), headers=auth(tokens[Role.OPERATOR])
        )
    down.close()
    assert response.status_code == 200
    assert response.json()["degraded"] is True


def test_labels_are_stored_and_reach_the_state(
    fraud_platform: Platform, client: TestClient, tokens: dict[Role, str]
) -> None:
    headers = auth(tokens[Role.OPERATOR])
    client.post("/v1/fraud/score", json=tx("t1"), headers=headers)
    labels = [
        {"transaction_id": "t1", "is_fraud": True},
        {"transaction_id": "unseen", "is_fraud": False, "source": "analyst"},
    ]
    body = {"labels": labels}
    response = client.post("/v1/fraud/labels", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json() == {"count": 2, "in_state": 1}
    assert _count(fraud_platform, FraudLabelRow) == 2
    bad = client.post(
        "/v1/fraud/labels",
        json={"labels": [{"transaction_id": "t1", "is_fraud": "maybe"}]},
        headers=headers,
    )
    assert bad.status_code == 422 and "is_fraud" in bad.text
    assert _count(fraud_platform, FraudLabelRow) == 2


def _alerted(client: TestClient, token: str) -> dict[str, Any]:
    """Score large night-time amounts until one raises an alert."""
    for i in range(200):
        body = tx(
            f"a{i}", amount=5_000.0 + i, customer_id=f"c{i}", timestamp="2026-06-01T03:00:00Z"
        )
        result = client.post("/v1/fraud/score", json=body, headers=auth(token)).json()
        if result["action"] != "allow":
            return result
    raise AssertionError("no transaction raised an alert")


def test_alert_queue_assign_and_resolve_become_labels(
    fraud_platform: Platform, client: TestClient, tokens: dict[Role, str]
) -> None:
    scored = _alerted(client, tokens[Role.OPERATOR])
    stored(client)
    analyst = auth(tokens[Role.ANALYST])
    queue = client.get("/v1/fraud/alerts?status=open", headers=analyst).json()
    alert = next(a for a in queue["data"] if a["transaction_id"] == scored["transaction_id"])
    assert alert["status"] == "open" and alert["action"] == scored["action"]
    assigned = client.post(f"/v1/fraud/alerts/{alert['id']}/assign", json={}, headers=analyst)
    assert assigned.status_code == 200 and assigned.json()["status"] == "assigned"
    assert assigned.json()["assignee"] == "test analyst"
    resolved = client.post(
        f"/v1/fraud/alerts/{alert['id']}/resolve",
        json={"resolution": "fraud", "note": "card holder confirmed"},
        headers=analyst,
    )
    assert resolved.status_code == 200
    assert resolved.json()["resolution"] == "fraud" and resolved.json()["status"] == "resolved"
    twice = client.post(
        f"/v1/fraud/alerts/{alert['id']}/resolve",
        json={"resolution": "legitimate"},
        headers=analyst,
    )
    assert twice.status_code == 409
    assert _count(fraud_platform, FraudLabelRow) == 1
    with fraud_platform.sessions() as session:
        actions = set(session.scalars(select(AuditEntryRow.action)).all())
    assert {"fraud.alert.assign", "fraud.alert.resolve"} <= actions
    unknown = client.get("/v1/fraud/alerts/" + "0" * 32, headers=analyst)
    assert unknown.status_code == 404
    assert _count(fraud_platform, FraudAlertRow) >= 1


def test_roles(fraud_platform: Platform, client: TestClient, tokens: dict[Role, str]) -> None:
    assert (
        client.post(
            "/v1/fraud/score", json=tx("t1"), headers=auth(tokens[Role.AUDITOR])
        ).status_code
        == 403
    )
    assert client.get("/v1/fraud/alerts", headers=auth(tokens[Role.OPERATOR])).status_code == 403
    assert client.get("/v1/fraud/alerts", headers=auth(tokens[Role.AUDITOR])).status_code == 200
    assert client.post("/v1/fraud/score", json=tx("t1")).status_code == 401


def test_a_card_number_is_kept_only_as_token_bin_and_last_four(
    fraud_platform: Platform, client: TestClient, tokens: dict[Role, str]
) -> None:
    headers = auth(tokens[Role.OPERATOR])
    number = "4111 1111 1111 1111"
    body = {k: v for k, v in tx("p1").items() if k != "customer_id"}
    first = client.post("/v1/fraud/score", json={**body, "card_number": number}, headers=headers)
    assert first.status_code == 200, first.text
    second = client.post(
        "/v1/fraud/score", json={**tx("p2"), "customer_id": None, "card_number": number},
        headers=headers,
    )  # fmt: skip
    assert second.status_code == 200, second.text
    stored(client)
    with fraud_platform.sessions() as session:
        cards = session.scalars(select(FraudScoreRow.customer_id)).all()
    assert len(set(cards)) == 1 and cards[0].startswith("411111******1111~")
    assert "4111111111111111" not in cards[0]
    read = client.get("/v1/fraud/scores/p1", headers=auth(tokens[Role.AUDITOR]))
    assert "4111111111111111" not in read.text and "411111******1111" in read.text

    bad = client.post(
        "/v1/fraud/score", json={**body, "card_number": "4111111111111112"}, headers=headers
    )
    assert bad.status_code == 422 and "4111111111111112" not in bad.text
    assert bad.json()["errors"][0]["field"] == "card_number"
    both = client.post("/v1/fraud/score", json={**tx("p3"), "card_number": number}, headers=headers)
    assert both.status_code == 422 and "exactly one" in both.text
