"""The platform in one object: settings, database and keys, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from finai.config import Settings, get_settings
from finai.store import make_engine, session_factory


@dataclass
class Platform:
    """What every face needs to reach the core: one engine and one session factory."""

    settings: Settings

    @classmethod
    def from_env(cls) -> Platform:
        """Build the platform from ``FINAI_*`` settings."""
        return cls(get_settings())

    @cached_property
    def engine(self) -> Engine:
        """The process's engine (created on first use)."""
        if self.settings.database_url is None:
            self.settings.home.mkdir(parents=True, exist_ok=True)
        return make_engine(self.settings.db_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """The process's session factory."""
        return session_factory(self.engine)

    @cached_property
    def audit_key(self) -> bytes:
        """The HMAC key for the audit chain."""
        return self.settings.secret()

    @property
    def artifact_dir(self) -> Path:
        """Where registered model artifacts are stored."""
        return self.settings.artifact_dir

    def close(self) -> None:
        """Release database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()
