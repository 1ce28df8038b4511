"""The ``finai`` command line: one sub-app per area, a thin adapter over the core.

Data goes to stdout, messages to stderr. Exit 0 on success, 1 on a FinAI error (one
red line, no traceback), 2 on a usage error.
"""

from __future__ import annotations

import sys

import typer

from finai.cli import assist, backup, credit, fraud, governance, platform, security
from finai.cli import challenger as challenger  # registers its governance commands

__all__ = ["app", "main"]

app = typer.Typer(
    help="FinAI: AI decisions for lenders, with models, keys and an audit chain.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
)
app.command()(platform.init)
app.command()(platform.serve)
app.add_typer(platform.db_app, name="db")
app.add_typer(platform.keys_app, name="keys")
app.add_typer(platform.models_app, name="models")
app.add_typer(platform.audit_app, name="audit")
app.add_typer(credit.app, name="credit")
app.add_typer(fraud.app, name="fraud")
app.add_typer(governance.app, name="governance")
app.add_typer(security.security_app, name="security")
app.add_typer(security.data_app, name="data")
app.add_typer(backup.app, name="backup")
app.add_typer(assist.app, name="assist")


def main() -> None:
    """Entry point of the ``finai`` script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
