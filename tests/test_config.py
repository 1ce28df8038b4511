from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from finai.config import Settings
from finai.exceptions import ConfigurationError


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short-but-real"])
def test_production_refuses_missing_placeholder_or_short_secrets(secret: str | None) -> None:
    with pytest.raises(ConfigurationError) as exc:
        Settings(
            environment="production",
            database_url="postgresql+psycopg://db/finai",
            secret_key=SecretStr(secret) if secret is not None else None,
        )
    assert exc.value.field == "FINAI_SECRET_KEY"


def test_production_needs_an_explicit_database() -> None:
    with pytest.raises(ConfigurationError, match="FINAI_DATABASE_URL"):
        Settings(environment="production", secret_key=SecretStr("s" * 40))


def test_local_generates_and_keeps_a_private_secret(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = settings.secret()
    assert len(first) >= 48
    assert settings.secret() == first
    assert Settings(home=tmp_path / "home").secret() == first
    assert (tmp_path / "home" / "secret.key").stat().st_mode & 0o777 == 0o600


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FINAI_HOME", str(tmp_path))
    monkeypatch.setenv("FINAI_PORT", "9123")
    settings = Settings()
    assert settings.port == 9123
    assert settings.db_url == f"sqlite:///{tmp_path.resolve() / 'finai.db'}"
    hidden = Settings(secret_key=SecretStr("s" * 40))
    assert "s" * 40 not in repr(hidden)
    assert "s" * 40 not in hidden.model_dump_json()
