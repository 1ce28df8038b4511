"""Helpers the capability scripts share: progress, tables, scratch folders, servers."""

from __future__ import annotations

import math
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
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


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_server(
    app: str, *, factory: bool, env: dict[str, str], work: Path, workers: int = 1
) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a subprocess and yield its base URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--app-dir", str(ROOT), "--log-level", "warning", "--no-access-log"]
    command += ["--workers", str(workers)]
    if factory:
        command.append("--factory")
    log_path = work / f"uvicorn-{port}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=work, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{app} exited at start:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not answer within 60 s")
            time.sleep(0.1)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def finai_env(home: Path, url: str | None = None, secret: str | None = None) -> dict[str, str]:
    """The environment of the FinAI CLI and server for a scratch home (SQLite by default)."""
    return {
        **os.environ,
        "FINAI_HOME": str(home),
        "FINAI_DATABASE_URL": url or f"sqlite:///{home / 'finai.db'}",
        "FINAI_SECRET_KEY": secret or secrets.token_urlsafe(48),
        "FINAI_LOG_LEVEL": "WARNING",
        "FINAI_ENVIRONMENT": "test",
        "FINAI_RATE_LIMIT": "0",  # the benchmarks measure the work, not the limiter
    }


def finai_cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run ``finai ARGS`` and return the last line it printed on stdout."""
    done = subprocess.run(
        [str(BIN / "finai"), *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"finai {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1].strip()


def children_cpu_s() -> float:
    """Return the CPU seconds (user + system) the live child processes of this one have used."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total
