"""The bench's HTTP side: a real server in other processes on loopback, on a free port,
and a lean keep-alive client that measures the server, not itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from api.composition.service import TwinregService

#: How the benchmark (and ``twinreg serve``) runs uvicorn: uvloop, httptools with the read
#: deadlines (api.http.read_timeouts), no access log (every decision is in the audit log;
#: access lines would only cost time).
UVICORN_OPTIONS = (
    *("--loop", "uvloop", "--http", "api.http.read_timeouts:TimedHttpTools"),
    "--no-access-log",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(
    service: TwinregService, workers: int, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """A real server in other processes on loopback (``extra_env`` added to its
    environment); yields its base URL."""
    port = free_port()
    env = dict(
        os.environ,
        **(extra_env or {}),
        TWINREG_HOME=str(service.settings.home),
        TWINREG_GOVERNANCE_URL=service.settings.governance_url,
        TWINREG_TRACKING_URI=service.settings.tracking_uri,
        TWINREG_ARTIFACT_ROOT=service.settings.artifact_root,
        TWINREG_POLICIES=str(service.settings.policies_dir),
        TWINREG_RATE_LIMIT="100000000",
        # only the XGBoost twin is asked for: no mechanistic warm-up at start-up
        TWINREG_WARM_UP="0",
    )
    command = [sys.executable, "-m", "uvicorn", "api.http.asgi:app", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", *UVICORN_OPTIONS]
    proc = subprocess.Popen(command, env=env)  # noqa: S603 (our interpreter, our module)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        ready = 0
        while ready < 3 * workers:  # several answers: every worker is up
            try:
                ready += httpx.get(base + "/health", timeout=5).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
            if time.monotonic() > deadline:
                raise RuntimeError("the benchmark server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


#: How a released prediction's body begins (``PredictionOut`` is encoded in field order):
#: checked without parsing the whole body, as a load generator would.
RELEASED = b'{"decision":"released",'


class LeanClient:
    """One keep-alive TCP connection speaking just the HTTP/1.1 this benchmark needs: the
    request bytes built once; each call sends them, reads the response by its
    Content-Length and checks that the prediction was released. What a load generator
    such as wrk does, so that the client's own work does not count as the server's."""

    def __init__(self, base: str, headers: dict[str, str], body: dict[str, object]) -> None:
        host, port = base.removeprefix("http://").split(":")
        self._address = (host, int(port))
        payload = json.dumps(body).encode()
        head = [
            "POST /v1/predictions HTTP/1.1",
            f"Host: {host}:{port}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        self._request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        self._socket: socket.socket | None = None
        self._pending = b""

    def predict(self) -> None:
        status, data = self.post()
        assert status == 200 and data.startswith(RELEASED), data

    def released(self) -> bool:
        """One request; whether it came back as a released prediction."""
        try:
            status, data = self.post()
            return status == 200 and data.startswith(RELEASED)
        except (OSError, ValueError):
            self.close()
            return False

    def post(self) -> tuple[int, bytes]:
        try:
            return self._exchange()
        except ConnectionError:  # the server closed an idle keep-alive connection
            self.close()
            return self._exchange()

    def _exchange(self) -> tuple[int, bytes]:
        if self._socket is None:
            self._socket = socket.create_connection(self._address, timeout=30)
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pending = b""
        self._socket.sendall(self._request)
        data = self._pending
        while b"\r\n\r\n" not in data:
            data += self._receive()
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(
            (
                int(line.partition(b":")[2])
                for line in lines[1:]
                if line.lower().startswith(b"content-length:")
            ),
            None,
        )
        if length is None:
            raise ValueError(f"a response without Content-Length: {head[:200]!r}")
        while len(rest) < length:
            rest += self._receive()
        self._pending = rest[length:]
        return status, rest[:length]

    def _receive(self) -> bytes:
        assert self._socket is not None
        chunk = self._socket.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
