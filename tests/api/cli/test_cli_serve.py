"""``twinreg serve`` says where it listens before it serves: the home and the address."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from api.composition.settings import Settings
from tests.security.workers import free_port, worker_env


def test_serve_prints_the_address_it_listens_on(settings: Settings) -> None:
    port = free_port()
    command = [sys.executable, "-m", "api.cli.main", "serve", "--port", str(port)]
    proc = subprocess.Popen(command, env=worker_env(settings), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    expected = (
        f"twinreg: serving {settings.home} on http://127.0.0.1:{port} (OpenAPI docs at /schema)"
    )
    assert expected in out.splitlines(), out
