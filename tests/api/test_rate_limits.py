from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from finai.api import create_app
from finai.context import Platform
from finai.security import Role
from finai.security.ratelimit import Limit, MemoryLimiter
from tests.conftest import auth


@pytest.fixture
def limited(platform: Platform) -> Iterator[TestClient]:
    app = create_app(platform)
    with TestClient(app) as client:
        app.state.rate_limiter = MemoryLimiter(Limit(rate=0.2, burst=3))
        yield client


def test_a_key_over_its_limit_gets_429_with_retry_after(
    limited: TestClient, tokens: dict[Role, str]
) -> None:
    admin, analyst = auth(tokens[Role.ADMIN]), auth(tokens[Role.ANALYST])
    assert [limited.get("/v1/models", headers=admin).status_code for _ in range(3)] == [200] * 3
    refused = limited.get("/v1/models", headers=admin)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["title"] == "Too many requests"
    assert limited.get("/v1/models", headers=analyst).status_code == 200  # per key
    assert limited.get("/healthz").status_code == 200  # public routes are not limited
