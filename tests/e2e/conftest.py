"""Real processes: the ``finai`` CLI and a uvicorn server on a free local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from finai.context import Platform
from tests.conftest import TEST_SECRET

BIN = Path(sys.executable).parent


@dataclass
class LiveServer:
    """A running ``finai serve`` process and how to reach it."""

    url: str
    env: dict[str, str]
    admin_token: str
    log: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the real ``finai`` command against the same database."""
        return finai_cli(self.env, *args)


def finai_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``finai ARGS`` as a subprocess with ``env``."""
    return subprocess.run(
        [str(BIN / "finai"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def free_port() -> int:
    """Ask the OS for an unused local port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(home: Path, db_url: str) -> dict[str, str]:
    """Environment for ``finai`` processes on ``db_url`` with ``home``, on a free port."""
    return {
        **os.environ,
        "FINAI_HOME": str(home),
        "FINAI_DATABASE_URL": db_url,
        "FINAI_SECRET_KEY": TEST_SECRET,
        "FINAI_ENVIRONMENT": "test",
        "FINAI_PORT": str(free_port()),
    }


@contextmanager
def serving(env: dict[str, str], log: Path, *args: str, ready_within: float = 30) -> Iterator[str]:
    """Run ``finai serve ARGS`` until the block ends; yields its base URL once healthy."""
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(BIN / "finai"), "serve", *args], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{env['FINAI_PORT']}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
def live_server(platform: Platform, tmp_path: Path) -> Iterator[LiveServer]:
    """``finai init --no-demo`` then ``finai serve`` on the test platform's (clean) database."""
    env = server_env(platform.settings.home, platform.settings.db_url)
    init = finai_cli(env, "init", "--no-demo")
    assert init.returncode == 0, init.stderr
    log = tmp_path / "server.log"
    with serving(env, log) as url:
        yield LiveServer(url, env, init.stdout.strip(), log)
