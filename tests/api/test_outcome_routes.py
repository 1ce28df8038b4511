"""Outcomes in over HTTP (validated at the edge, all or nothing) and the monitoring report out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from finai import credit, governance
from finai.context import Platform
from finai.security import Role
from finai.store import AuditEntryRow, CreditOutcomeRow
from tests.conftest import auth
from tests.credit.test_outcomes import MODEL, store_decisions
from tests.factories import register_versions

JAN = datetime(2026, 1, 15, tzinfo=UTC)
SEEN = "2026-06-01T00:00:00Z"


def _count(platform: Platform, table: type) -> int:
    with platform.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def decided(platform: Platform) -> list[str]:
    """A credit model ``pd-watch`` v1 (AUC 0.85, KS 0.6 at training) and four decisions."""
    register_versions(platform, [{"auc": 0.85, "ks": 0.6}], name=MODEL, kind=credit.KIND)
    return store_decisions(platform, [0.1, 0.2, 0.3, 0.4], at=JAN)


def post(client: TestClient, token: str, outcomes: list[dict[str, Any]]) -> Any:
    return client.post("/v1/credit/outcomes", json={"outcomes": outcomes}, headers=auth(token))


def test_outcomes_are_recorded_then_updated(
    platform: Platform, client: TestClient, tokens: dict[Role, str], decided: list[str]
) -> None:
    body = [
        {"decision_id": d, "defaulted": i % 2 == 1, "observed_at": SEEN}
        for i, d in enumerate(decided)
    ]
    first = post(client, tokens[Role.OPERATOR], body)
    assert first.status_code == 200, first.text
    assert first.json() == {"count": 4, "recorded": 4, "updated": 0, "unchanged": 0, "stale": 0}
    again = post(client, tokens[Role.ANALYST], body)
    assert again.json() == {"count": 4, "recorded": 0, "updated": 0, "unchanged": 4, "stale": 0}
    flipped = post(client, tokens[Role.ADMIN], [{"decision_id": decided[0], "defaulted": True}])
    assert flipped.json()["updated"] == 1
    assert _count(platform, CreditOutcomeRow) == 4
    with platform.sessions() as session:
        entries = session.scalars(
            select(AuditEntryRow).where(AuditEntryRow.action == "credit.outcomes")
        ).all()
    assert len(entries) == 3


@pytest.mark.parametrize(
    ("outcome", "field"),
    [
        ({"decision_id": "not-hex", "defaulted": True}, "outcomes.0.decision_id"),
        ({"decision_id": "a" * 32, "defaulted": "yes"}, "outcomes.0.defaulted"),
        ({"decision_id": "a" * 32, "defaulted": 1}, "outcomes.0.defaulted"),
        (
            {"decision_id": "a" * 32, "defaulted": True, "observed_at": "2026-06-01T00:00:00"},
            "outcomes.0.observed_at",
        ),
        ({"decision_id": "a" * 32, "defaulted": True, "note": "x"}, "outcomes.0.note"),
        ({"defaulted": True}, "outcomes.0.decision_id"),
    ],
    ids=["id", "verdict-text", "verdict-number", "naive-time", "extra", "missing-id"],
)
def test_bad_outcomes_are_refused_at_the_edge(
    platform: Platform,
    client: TestClient,
    tokens: dict[Role, str],
    decided: list[str],
    outcome: dict[str, Any],
    field: str,
) -> None:
    good = {"decision_id": decided[0], "defaulted": False}
    response = post(client, tokens[Role.OPERATOR], [good, outcome])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field.replace("0", "1", 1)
    assert _count(platform, CreditOutcomeRow) == 0


def test_batches_that_break_a_rule_store_nothing(
    platform: Platform, client: TestClient, tokens: dict[Role, str], decided: list[str]
) -> None:
    token = tokens[Role.OPERATOR]
    empty = post(client, token, [])
    assert empty.status_code == 422
    unknown = post(
        client, token, [{"decision_id": d, "defaulted": True} for d in (decided[0], "b" * 32)]
    )
    assert unknown.status_code == 404
    assert "b" * 32 in unknown.json()["detail"]
    twice = post(
        client, token, [{"decision_id": decided[0], "defaulted": v} for v in (True, False)]
    )
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "decision_id"
    before = "2025-12-31T00:00:00Z"
    early = post(
        client, token, [{"decision_id": decided[0], "defaulted": True, "observed_at": before}]
    )
    assert early.status_code == 422 and "before the decision" in early.json()["detail"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    late = post(
        client, token, [{"decision_id": decided[0], "defaulted": True, "observed_at": future}]
    )
    assert late.status_code == 422 and "in the future" in late.json()["detail"]
    too_many = post(
        client, token, [{"decision_id": f"{i:032x}", "defaulted": True} for i in range(10_001)]
    )
    assert too_many.status_code == 422
    assert _count(platform, CreditOutcomeRow) == 0


def test_the_monitoring_report_matches_the_domain(
    platform: Platform, client: TestClient, tokens: dict[Role, str], decided: list[str]
) -> None:
    body = [
        {"decision_id": d, "defaulted": y, "observed_at": SEEN}
        for d, y in zip(decided, [False, True, False, True], strict=True)
    ]
    assert post(client, tokens[Role.OPERATOR], body).status_code == 200
    response = client.get(
        "/v1/governance/monitoring",
        params={"model": f"{MODEL}:1", "min_outcomes": 4},
        headers=auth(tokens[Role.AUDITOR]),
    )
    assert response.status_code == 200, response.text
    data = response.json()
    with platform.sessions() as session:
        expected = governance.vintage_report(session, MODEL, 1, min_outcomes=4).to_dict()
    assert data == expected
    [january] = data["vintages"]
    assert january["vintage"] == "2026-01"
    assert january["auc"] == pytest.approx(0.75) and january["ks"] == pytest.approx(0.5)
    assert [(a["vintage"], a["metric"]) for a in data["alerts"]] == [
        ("2026-01", "auc"),
        ("2026-01", "ks"),
        ("all", "auc"),
        ("all", "ks"),
    ]
    relaxed = client.get(
        "/v1/governance/monitoring",
        params={"model": MODEL, "min_outcomes": 5},
        headers=auth(tokens[Role.ANALYST]),
    ).json()
    assert relaxed["alerts"] == [] and relaxed["overall"]["too_small"] is True


def test_monitoring_refusals(
    client: TestClient, tokens: dict[Role, str], decided: list[str]
) -> None:
    headers = auth(tokens[Role.ANALYST])
    for params, status in [
        ({"model": "nobody"}, 404),
        ({"model": f"{MODEL}:9"}, 404),
        ({"model": "bad name!"}, 422),
        ({}, 422),
        ({"model": MODEL, "confidence": 1}, 422),
        ({"model": MODEL, "auc_tolerance": 2}, 422),
        ({"model": MODEL, "min_outcomes": 0}, 422),
    ]:
        response = client.get("/v1/governance/monitoring", params=params, headers=headers)
        assert response.status_code == status, (params, response.text)


def test_roles(client: TestClient, tokens: dict[Role, str], decided: list[str]) -> None:
    outcome = [{"decision_id": decided[0], "defaulted": False}]
    expected_post = {Role.ADMIN: 200, Role.OPERATOR: 200, Role.ANALYST: 200, Role.AUDITOR: 403}
    for role, status in expected_post.items():
        assert post(client, tokens[role], outcome).status_code == status, role
    expected_get = {Role.ADMIN: 200, Role.ANALYST: 200, Role.AUDITOR: 200, Role.OPERATOR: 403}
    for role, status in expected_get.items():
        response = client.get(
            "/v1/governance/monitoring", params={"model": MODEL}, headers=auth(tokens[role])
        )
        assert response.status_code == status, role
    assert client.post("/v1/credit/outcomes", json={"outcomes": outcome}).status_code == 401
    assert client.get("/v1/governance/monitoring", params={"model": MODEL}).status_code == 401
