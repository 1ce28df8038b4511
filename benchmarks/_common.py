"""Helpers the capability scripts share: progress lines, markdown tables, scratch folders."""

from __future__ import annotations

import math
import os
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WORK = BENCH_DIR / ".work"
KEEP = os.environ.get("FINAI_BENCH_KEEP", "") == "1"


def log(message: str) -> None:
    """Print one progress line to stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """Yield a fresh folder under ``benchmarks/.work``, removed afterwards.

    Set FINAI_BENCH_KEEP=1 to keep it (server logs, databases) for a look.
    """
    path = WORK / f"{prefix}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        if KEEP:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """Return the median of ``values``."""
    return statistics.median(values)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render a markdown table; the first column is left-aligned, the rest right-aligned."""
    align = [":---"] + ["---:"] * (len(headers) - 1)
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def num(value: float, digits: int = 0) -> str:
    """Format a number with thousands separators."""
    return f"{value:,.{digits}f}"


def ratio(value: float) -> str:
    """Format a ratio as ``1.23x``."""
    return f"{value:.2f}x"
