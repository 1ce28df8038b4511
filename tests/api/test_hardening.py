from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from finai.api import create_app
from tests.conftest import make_platform


def test_an_unreachable_database_is_503_with_retry_after(tmp_path: Path) -> None:
    platform = make_platform("postgresql+psycopg://postgres@127.0.0.1:1/none", tmp_path)
    with TestClient(create_app(platform)) as client:
        answer = client.get(
            "/v1/models", headers={"Authorization": f"Bearer finai_{'a' * 12}_{'b' * 43}"}
        )
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "2"
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["detail"] == "the database is unavailable; retry shortly"
        assert "127.0.0.1" not in answer.text and "psycopg" not in answer.text
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503


def test_api_answers_are_never_cached_or_sniffed(client: TestClient) -> None:
    answer = client.get("/v1/whoami")
    assert answer.status_code == 401
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "cache-control" not in client.get("/healthz").headers
