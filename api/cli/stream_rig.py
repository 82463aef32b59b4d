"""What the streams bench (and the crash test) run: a Mosquitto of their own on a free port
configured as the README tells a hospital to (persistence, queues, in-flight window), and
``twinreg ingest`` as a separate process with its settings in the environment, as in
production."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from api.composition.settings import Settings

REPO = Path(__file__).resolve().parents[2]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mosquitto_config(port: int, folder: Path, auth: bool) -> str:
    """The broker settings device streams need (README, "Device streams"); with ``auth``
    the password file and ACL of ``folder`` (else anonymous, for the bench)."""
    lines = [
        f"user {getpass.getuser()}",  # as root it would switch to user mosquitto
        f"listener {port} 127.0.0.1",
        "persistence true",
        f"persistence_location {folder}/",
        "autosave_interval 60",
        "max_queued_messages 1000000",
        "max_inflight_messages 1000",
        f"log_dest file {folder / 'mosquitto.log'}",
    ]
    if auth:
        lines += ["allow_anonymous false", f"password_file {folder / 'passwords'}",
                  f"acl_file {folder / 'acl'}"]  # fmt: skip
    else:
        lines.append("allow_anonymous true")
    return "\n".join(lines) + "\n"


class OwnMosquitto:
    def __init__(self, folder: Path, auth: bool = False, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.auth = auth
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.folder / "mosquitto.conf"
        config.write_text(mosquitto_config(self.port, self.folder, self.auth))
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(config)])  # noqa: S603
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on port {self.port}")

    def reload(self) -> None:
        """Read the password file and ACL again (SIGHUP)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment naming ``settings``' stores (what a deployment sets)."""
    return {
        "TWINREG_HOME": str(settings.home),
        "TWINREG_GOVERNANCE_URL": settings.governance_url,
        "TWINREG_TRACKING_URI": settings.tracking_uri,
        "TWINREG_ARTIFACT_ROOT": settings.artifact_root,
        "TWINREG_POLICIES": str(settings.policies_dir),
        "TWINREG_WARM_UP": "0",
    }


class IngesterProcess:
    """``twinreg ingest`` in a process of its own; ``kill`` is SIGKILL (a crash)."""

    def __init__(self, env: Mapping[str, str], transport: str, log: Path) -> None:
        self.env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
        self.transport = transport
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own command, no shell)
                [sys.executable, "-m", "api.cli.main", "ingest", "--transport", self.transport],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.starts += 1
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the ingester exited at start:\n{self.tail()}")
            if b"ready: " in self.log.read_bytes()[mark:]:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the ingester was not ready in {STARTUP_SECONDS:g} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
