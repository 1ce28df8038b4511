from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from finai.context import Platform
from finai.store import Base, is_current, make_engine
from finai.store.migrate import alembic_config


def test_migrations_match_the_tables(platform: Platform) -> None:
    with platform.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert is_current(platform.engine)


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert not is_current(engine)
    command.upgrade(config, "head")
    assert is_current(engine)
    assert {"api_keys", "audit_entries", "audit_head", "model_versions"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
