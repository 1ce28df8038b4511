"""Settings from ``FINAI_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from finai.exceptions import ConfigurationError

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "changethis", "secret", "default", "finai"})
SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret
KEK_FILE = "kek.json"


class Settings(BaseSettings):
    """Every setting FinAI reads, with safe defaults for a local install.

    Attributes
    ----------
    environment
        ``local`` (default) generates and keeps a secret in the home folder;
        ``production`` refuses to start without an explicit, non-placeholder secret.
    home
        Folder for the SQLite database, model artifacts and the local secret.
    database_url
        SQLAlchemy URL; defaults to ``sqlite:///<home>/finai.db``. PostgreSQL:
        ``postgresql+psycopg://user@host:5432/db``.
    secret_key
        Key for the audit chain's HMAC and the dashboard's session cookies.
    max_body_bytes
        Requests with a larger body are refused with 413.
    redis_url
        Redis for the fraud state shared by every process, e.g.
        ``redis://127.0.0.1:6379/0``; without it each process keeps its own state in
        memory (one process only).
    redis_prefix
        Prefix of the fraud state's Redis keys (the service and ``finai fraud consume``
        share them), so deployments can share a server; stream names are set apart.
    fraud_model
        The registered fraud model whose champion scores transactions.
    fraud_write_delay_ms
        Scores are stored in batches at most this long after their answer (0: each
        before its answer), see :mod:`finai.fraud.writer`.
    drift_check_hours
        The service checks each credit champion's drift over its stored decisions when
        its newest check is older than this many hours (0: never), see
        :class:`finai.governance.DriftSchedule`.
    drift_window_days
        The window of decisions those scheduled checks compare with the training data.
    kek_file
        Key file of the key encryption keys that wrap personal data keys; defaults to
        ``<home>/kek.json``, created in ``local`` and ``test``. ``production`` needs an
        existing file (see :mod:`finai.security.keyring`); keep it apart from backups
        of the database.
    personal_retention_days
        ``finai data retention`` erases the personal data of applicants whose newest
        data is older than this many days (0: keep until erased on request).
    rate_limit, rate_burst
        API requests a second each key may make on average (0: no limit), and how
        many at once; shared through Redis when ``redis_url`` is set, see
        :mod:`finai.security.ratelimit`.
    assist_intent_model
        The registered intent model whose champion classifies customer messages.
    assist_max_chars
        Customer messages longer than this many characters are refused (422).
    assist_audio_max_bytes
        Audio messages larger than this are refused (422) before being decoded.
    assist_negative_threshold
        A customer message whose sentiment is negative with a score at or below this
        (in [-1, 0]) is handed to a person, even when it was answered.
    assist_relevance_threshold
        The knowledge-base relevance (in [0, 1]) an entry needs to be given as an
        answer; unset: the knowledge module's default.
    translate_url, translate_api_key
        A self-hosted LibreTranslate-compatible server (and its key, if it needs one)
        for translating messages, see :mod:`finai.assist.translate`; unset: FinAI
        translates nothing (no offline translation model ships).
    """

    model_config = SettingsConfigDict(env_prefix="FINAI_", env_file=".env", extra="ignore")

    environment: Literal["local", "test", "production"] = "local"
    home: Path = Path(".finai")
    database_url: str | None = None
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    log_level: str = "INFO"
    session_hours: float = Field(default=8.0, gt=0)
    redis_url: str | None = None
    redis_prefix: str = Field(default="finai:fraud:", min_length=1, max_length=100)
    fraud_model: str = "demo-fraud"
    fraud_write_delay_ms: int = Field(default=50, ge=0, le=10_000)
    drift_check_hours: float = Field(default=24.0, ge=0, le=24 * 366)
    drift_window_days: int = Field(default=30, ge=1, le=3660)
    kek_file: Path | None = None
    rate_limit: float = Field(default=100.0, ge=0)
    personal_retention_days: int = Field(default=0, ge=0, le=36_600)
    rate_burst: int = Field(default=200, ge=1)
    assist_intent_model: str = Field(default="demo-intents", min_length=1, max_length=100)
    assist_max_chars: int = Field(default=2000, ge=1, le=100_000)
    assist_audio_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    assist_negative_threshold: float = Field(default=-0.5, ge=-1.0, le=0.0)
    assist_relevance_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    translate_url: str | None = Field(default=None, pattern=r"^https?://")
    translate_api_key: SecretStr | None = None

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment == "production":
            value = self.secret_key.get_secret_value() if self.secret_key else ""
            if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 32:
                raise ConfigurationError(
                    "FINAI_SECRET_KEY is missing, a placeholder or shorter than 32 characters;"
                    " production refuses to start without a real secret",
                    field="FINAI_SECRET_KEY",
                )
            if self.database_url is None:
                raise ConfigurationError(
                    "FINAI_DATABASE_URL must be set explicitly in production",
                    field="FINAI_DATABASE_URL",
                )
        return self

    @property
    def db_url(self) -> str:
        """The database URL in force, defaulting to SQLite inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home.resolve() / 'finai.db'}"

    @property
    def kek_path(self) -> Path:
        """The key file of key encryption keys in force, defaulting to ``home/kek.json``."""
        return self.kek_file if self.kek_file is not None else self.home / KEK_FILE

    @property
    def artifact_dir(self) -> Path:
        """Where model artifacts live, content-addressed by sha256."""
        return self.home / "artifacts"

    def secret(self) -> bytes:
        """Return the secret key, creating a local one in ``home`` when none is set.

        Only ``local`` and ``test`` environments may generate a secret; production
        settings cannot reach this without one (see the validator).
        """
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode()
        path = self.home / SECRET_FILE
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (tests call ``get_settings.cache_clear()``)."""
    return Settings()
