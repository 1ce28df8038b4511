"""The platform in one object: settings, database and keys, built once per process."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from finai.config import Settings, get_settings
from finai.exceptions import ConfigurationError
from finai.security.keyring import KeyFile, create_key_file, derive_key
from finai.security.vault import Vault
from finai.store import make_engine, session_factory

INDEX_INFO = b"finai-blind-index"
CARD_INFO = b"finai-card-token"


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

    @cached_property
    def vault(self) -> Vault:
        """Envelope encryption of personal data under the key file in force.

        Outside production a missing key file is created (a new install); production
        never creates one, since a fresh KEK could not open data sealed before.
        """
        path = self.settings.kek_path
        if not path.exists() and self.settings.environment != "production":
            # another process may create it first: then theirs stands
            with suppress(ConfigurationError):
                create_key_file(path)
        return Vault(KeyFile(path), derive_key(self.audit_key, INDEX_INFO))

    @cached_property
    def card_key(self) -> bytes:
        """The key of card-number tokens (:func:`finai.security.cards.card_ref`)."""
        return derive_key(self.audit_key, CARD_INFO)

    @property
    def artifact_dir(self) -> Path:
        """Where registered model artifacts are stored."""
        return self.settings.artifact_dir

    def close(self) -> None:
        """Release database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()
