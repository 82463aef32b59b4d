"""Brokers for the stream tests: a Mosquitto of the test's own (password file, ACL, a free
port), the machine's NATS with JetStream; a device publishing like a real one (paho).

In CI (``CI`` set, not false/0) a missing broker fails the test; elsewhere it is skipped
with a line saying why."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import IN_CI

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
NATS_URL = os.environ.get("TWINREG_TEST_NATS_URL", "nats://127.0.0.1:4222")
INGESTER, MONITOR = "twinreg-ingester", "twinreg-monitor"


def unavailable(why: str) -> None:
    """Fail in CI, skip elsewhere, saying why."""
    if IN_CI:
        pytest.fail(f"{why} (required in CI)")
    pytest.skip(f"{why}; the broker tests run where it is (they are required in CI)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The ACL a hospital applies (README, "Device streams"): the ingester reads readings and
#: writes dead letters; a monitor reads dead letters; each device writes its own topic.
ACL = """\
user twinreg-ingester
topic read twinreg/devices/+/readings
topic write twinreg/dead-letter/#

user twinreg-monitor
topic read twinreg/dead-letter/#

pattern write twinreg/devices/%u/readings
"""


@dataclass
class Mosquitto:
    port: int
    folder: Path
    passwords: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def add_user(self, user: str, password: str) -> None:
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(self.folder / "passwords"), user, password],
                       check=True, capture_output=True)  # fmt: skip
        self.passwords[user] = password
        if self.process is not None:  # a running broker reads its files again on SIGHUP
            self.process.send_signal(signal.SIGHUP)
            time.sleep(0.3)

    def password_file(self, user: str) -> Path:
        path = self.folder / f"{user}.secret"
        path.write_text(self.passwords[user] + "\n")
        return path

    def start(self) -> None:
        config = self.folder / "mosquitto.conf"
        config.write_text(
            # run as whoever runs the tests (as root it would switch to user mosquitto,
            # who cannot read the test's folder)
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {self.folder / 'passwords'}\nacl_file {self.folder / 'acl'}\n"
            f"persistence true\npersistence_location {self.folder}/\n"
            "max_queued_messages 1000000\nmax_inflight_messages 1000\n"
            f"log_dest file {self.folder / 'mosquitto.log'}\n"
        )
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(config)])
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@pytest.fixture()
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    if not (os.access(MOSQUITTO, os.X_OK) and os.access(MOSQUITTO_PASSWD, os.X_OK)):
        unavailable(f"mosquitto and mosquitto_passwd are not installed ({MOSQUITTO})")
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    (folder / "passwords").touch(mode=0o600)
    (folder / "acl").write_text(ACL)
    broker = Mosquitto(free_port(), folder)
    broker.add_user(INGESTER, "ingester-secret")
    broker.add_user(MONITOR, "monitor-secret")
    broker.start()
    yield broker
    broker.stop()


def nats_reachable() -> None:
    host, port = NATS_URL.rsplit("/", 1)[-1].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError as exc:
        unavailable(f"NATS with JetStream is unreachable at {NATS_URL}: {exc}")


class Device:
    """A device publishing QoS 1 with its own credentials; ``acked`` the message ids the
    broker acknowledged (PUBACK)."""

    def __init__(self, broker: Mosquitto, user: str, password: str | None = None) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{user}",
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        self.client.username_pw_set(user, password or broker.passwords[user])
        self.client.max_inflight_messages_set(1000)
        self.refused: list[Any] = []
        self.client.on_connect = lambda c, u, f, reason, p: self.refused.append(reason)
        self.user = user
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        deadline = time.monotonic() + 5
        while not self.refused and time.monotonic() < deadline:
            time.sleep(0.01)

    @property
    def connected(self) -> bool:
        return bool(self.refused) and not self.refused[0].is_failure

    def publish(self, payload: bytes, topic: str | None = None) -> Any:
        return self.client.publish(topic or f"twinreg/devices/{self.user}/readings", payload,
                                   qos=1)  # fmt: skip

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Monitor:
    """Reads the dead-letter topic (as the monitor user)."""

    def __init__(self, broker: Mosquitto) -> None:
        self.letters: list[bytes] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="monitor",
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        self.client.username_pw_set(MONITOR, broker.passwords[MONITOR])
        self.client.on_message = lambda c, u, m: self.letters.append(bytes(m.payload))
        granted = threading.Event()
        self.client.on_subscribe = lambda c, u, mid, reasons, p: granted.set()
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe("twinreg/dead-letter/#", qos=1)
        self.client.loop_start()
        if not granted.wait(10):  # a dead letter sent before the SUBACK would be missed
            raise RuntimeError("the monitor's subscription was not granted in 10 s")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(condition: Any, seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())
