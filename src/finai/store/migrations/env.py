"""Alembic environment: runs FinAI's migrations against the configured URL."""

from __future__ import annotations

from alembic import context

from finai.store.engine import make_engine
from finai.store.tables import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
