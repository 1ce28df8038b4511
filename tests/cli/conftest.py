"""The CLI runs in-process against the test platform's database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from finai.config import get_settings
from finai.context import Platform
from tests.conftest import TEST_SECRET


@pytest.fixture
def cli(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose environment points the CLI at the test platform's database."""
    monkeypatch.setenv("FINAI_DATABASE_URL", platform.settings.db_url)
    monkeypatch.setenv("FINAI_HOME", str(platform.settings.home))
    monkeypatch.setenv("FINAI_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("FINAI_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
