"""``twinreg serve --workers 2`` on a machine whose every core is busy: both workers start
once and serve, and the server's log (at the command's own level) would name any worker
the supervisor had to replace.

A worker answers uvicorn's health ping only after it has imported the command line's
module again (``multiprocessing`` re-imports ``__main__``); when that import took MLflow
with it (seconds, over twenty under load) the supervisor killed every worker before it
answered and started another, for ever, and said so only at INFO, which the command hid.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from api.composition.settings import Settings
from tests.security.workers import free_port, worker_env

REPO = Path(__file__).resolve().parents[2]
#: The whole test's bound: the burners stop by themselves after it, whatever happens.
BOUND_S = 120
_BURN = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end:\n    pass\n"


@contextmanager
def every_core_busy(seconds: int) -> Iterator[None]:
    """One CPU-bound process per core, ending by itself after ``seconds``; killed on exit."""
    burners = [
        subprocess.Popen([sys.executable, "-c", _BURN.format(s=seconds)])
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait(timeout=30)


def _lines(log: Path, pattern: str) -> list[str]:
    return re.findall(pattern, log.read_text(errors="replace"))


def test_two_workers_start_once_on_a_busy_machine(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "api.cli.main", "serve", "--home", str(settings.home)]
    command += ["--port", str(port), "--workers", "2"]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + BOUND_S
    with every_core_busy(BOUND_S + 10), log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=REPO, env=worker_env(settings), stdout=out, stderr=subprocess.STDOUT
        )
        try:
            # both workers up: two "startup complete" lines, and the port answers
            while len(_lines(log, r"Application startup complete")) < 2:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "workers not up:\n" + log.read_text()
                time.sleep(0.5)
            for _ in range(20):
                assert httpx.get(base + "/health", timeout=30).status_code == 200
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)
    text = log.read_text(errors="replace")
    started = _lines(log, r"Started server process \[(\d+)\]")
    assert len(set(started)) == 2, f"{len(started)} worker starts (2 expected):\n{text}"
    assert not _lines(log, r"Child process \[\d+\] died"), text
    assert "WARNING" not in text and "ERROR" not in text, text
