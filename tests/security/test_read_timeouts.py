"""Slow clients do not keep connections forever: a served app closes a connection whose
request head, or whose announced body, does not arrive in time — including one that sends
nothing, and one that trickles a byte at a time (each byte would restart an idle timer).

Served as in production: ``twinreg serve``, and the documented ``uvicorn`` command with the
timed protocol, over both of uvicorn's HTTP parsers. The timeouts are set to 1 s; the test
accepts closure within 15 s (a loaded machine is slow; "closed" rather than "open forever"
is the point, not the timing).
"""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from api.composition.settings import Settings
from tests.security.workers import free_port, worker_env

CLOSE_WITHIN = 15.0
SERVERS = {
    "twinreg serve": [sys.executable, "-m", "api.cli.main", "serve"],
    "uvicorn, httptools": [
        *(sys.executable, "-m", "uvicorn", "api.http.asgi:app"),
        *("--http", "api.http.read_timeouts:TimedHttpTools"),
    ],
    "uvicorn, h11": [
        *(sys.executable, "-m", "uvicorn", "api.http.asgi:app"),
        *("--http", "api.http.read_timeouts:TimedH11"),
    ],
}


@contextmanager
def _served(settings: Settings, command: list[str]) -> Iterator[int]:
    port = free_port()
    env = worker_env(settings, TWINREG_HEADER_TIMEOUT="1", TWINREG_BODY_TIMEOUT="1")
    proc = subprocess.Popen([*command, "--port", str(port)], env=env)
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
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (reading whatever it says
    first), sending one byte of ``trickle`` every 0.2 s meanwhile."""
    end = time.monotonic() + seconds
    pending = trickle
    while time.monotonic() < end:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            try:
                if not sock.recv(65536):
                    return True
            except ConnectionError:
                return True
        elif pending:
            try:
                sock.sendall(pending[:1])
            except ConnectionError:
                return True
            pending = pending[1:] or trickle
    return False


CASES = {
    "sends nothing": (b"", b""),
    "stops inside the head": (b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\n", b""),
    "trickles the head": (b"", b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 1000),
    "stops inside the body": (
        b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mod',
        b"",
    ),
    "trickles the body": (
        b"POST /ui/sign-in HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\n",
        b"a",
    ),
}


@pytest.mark.parametrize("server", list(SERVERS))
def test_slow_clients_are_disconnected(settings: Settings, service: object, server: str) -> None:
    with _served(settings, SERVERS[server]) as port:
        open_too_long = []
        for case, (sent, trickle) in CASES.items():
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                if sent:
                    sock.sendall(sent)
                if not _closed_within(sock, CLOSE_WITHIN, trickle):
                    open_too_long.append(case)
        assert not open_too_long, f"still open after {CLOSE_WITHIN} s: {open_too_long}"
        # a client that is not slow is served, and its connection kept alive between requests
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for _ in range(2):
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert _response(sock).startswith(b"HTTP/1.1 200")
                time.sleep(0.5)


def _response(sock: socket.socket) -> bytes:
    """One whole response (its body read by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed"
        body += chunk
    return head
