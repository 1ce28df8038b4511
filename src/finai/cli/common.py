"""What every command shares: consoles, the one-line error, sessions, progress bars."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from finai.context import Platform
from finai.exceptions import FinAIError

out = Console()
err = Console(stderr=True)

CLI_ACTOR = "cli"


def fail(message: str) -> typer.Exit:
    """Print one red line on stderr and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@contextmanager
def platform_session() -> Iterator[tuple[Platform, Session]]:
    """Yield the platform and a session; FinAI errors become one line and exit 1."""
    platform: Platform | None = None
    try:
        platform = Platform.from_env()
        with platform.sessions() as session:
            yield platform, session
    except FinAIError as exc:
        raise fail(str(exc)) from None
    except PydanticValidationError as exc:
        raise fail(f"invalid settings: {exc.errors()[0]['msg']}") from None
    except OperationalError as exc:
        raise fail(
            f"database unavailable or not migrated ({exc.orig.__class__.__name__});"
            " run 'finai db upgrade'"
        ) from None
    finally:
        if platform is not None:
            platform.close()


def fmt_time(value: datetime | None) -> str:
    """Format a time as ``YYYY-MM-DD HH:MM:SSZ``, ``-`` when there is none."""
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (times and other objects as text)."""
    out.print_json(json.dumps(data, default=str))


def metric(value: Any) -> str:
    """Format a metric for a table: floats to four decimals."""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[float, str], None]]:
    """Show a Rich progress bar on stderr; yields ``update(fraction, message)``."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(description, total=1.0)

        def update(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, description=f"{description}: {message}")

        yield update


DataOption = Annotated[Path, typer.Option("--data", help="CSV or Parquet table.", dir_okay=False)]
ModelRefOption = Annotated[
    str, typer.Option("--model", help="NAME (champion, else newest) or NAME:VERSION.")
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a FinAI error into one red line and exit 1 (for commands without a database)."""
    try:
        yield
    except FinAIError as exc:
        raise fail(str(exc)) from None
