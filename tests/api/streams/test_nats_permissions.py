"""NATS keeps each device to its own subject, as the README configures it: a NATS server
of the test's own runs the README's ``authorization`` block verbatim (the passwords from
the environment, as there), with JetStream. The ingester reads as ``twinreg-ingester``;
device ``cgm-0042`` stores readings on its own subject, and what it publishes on another
device's subject is refused by the server and stored for nobody (like the MQTT ACL test).
Required in CI, skipped elsewhere with a line saying why when nats-server is missing."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest

from api.composition.settings import StreamSettings
from api.streams.nats_stream import NatsTransport
from tests.api.streams.brokers import free_port, unavailable, wait_for
from tests.api.streams.readings_helpers import cgm, payload, running
from tests.api.streams.test_mqtt_ingest import bind, stored
from tests.conftest import REPO

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
#: (letters and digits: the server reads a variable's value as a configuration value)
PASSWORDS = {"INGESTER_PASSWORD": "IngesterSecret7", "CGM_0042_PASSWORD": "CgmSecret42"}


def readme_authorization() -> str:
    """The README's NATS configuration block (device streams), as a hospital copies it."""
    text = (REPO / "README.md").read_text()
    found = re.search(r"NATS \(`nats-server -js -c twinreg\.conf`\).*?```\n(.*?)```", text,
                      re.DOTALL)  # fmt: skip
    assert found, "the README's NATS configuration block is gone"
    return found.group(1)


@dataclass
class OwnNats:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture()
def own_nats(tmp_path: Path) -> Iterator[OwnNats]:
    if not os.access(NATS_SERVER, os.X_OK):
        unavailable(f"nats-server is not installed ({NATS_SERVER})")
    port = free_port()
    config = tmp_path / "twinreg.conf"
    config.write_text(f'listen: "127.0.0.1:{port}"\n'
                      f'jetstream {{ store_dir: "{tmp_path / "js"}" }}\n'
                      + readme_authorization())  # fmt: skip
    process = subprocess.Popen(
        [NATS_SERVER, "-js", "-c", str(config)], env={**os.environ, **PASSWORDS},
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "nats.log").open("wb"),
    )  # fmt: skip
    url = f"nats://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((tmp_path / "nats.log").read_text()[-2000:])
        time.sleep(0.05)
    yield OwnNats(url, process)
    process.terminate()
    process.wait(timeout=10)


def _answers(url: str) -> bool:
    async def attempt() -> bool:
        try:
            nc = await nats.connect(url, user="cgm-0042", password=PASSWORDS["CGM_0042_PASSWORD"],
                                    connect_timeout=1, allow_reconnect=False)  # fmt: skip
        except Exception:  # not listening yet
            return False
        await nc.close()
        return True

    return asyncio.run(attempt())


def ingester(broker: OwnNats, tmp_path: Path) -> NatsTransport:
    secret = tmp_path / "ingester.secret"
    secret.write_text(PASSWORDS["INGESTER_PASSWORD"] + "\n")
    return NatsTransport(StreamSettings(nats_url=broker.url, nats_username="twinreg-ingester",
                                        nats_password_file=secret))  # fmt: skip


async def _as_device(url: str, user: str, secret: str, subject: str, data: bytes) -> str:
    """Publish to JetStream as ``user``: "stored" when the stream acknowledged it, else the
    error (a refused connection, or a publish the server dropped: no acknowledgement)."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    try:
        nc = await nats.connect(url, user=user, password=secret, error_cb=on_error,
                                allow_reconnect=False, connect_timeout=2)  # fmt: skip
    except Exception as exc:
        return f"connection refused: {exc!r}"
    try:
        await nc.jetstream().publish(subject, data, timeout=2)
        return "stored"
    except Exception as exc:
        await asyncio.sleep(0.2)  # the server's -ERR reaches the error callback
        return f"{exc!r} {errors}"
    finally:
        await nc.close()


def device(broker: OwnNats, subject: str, data: bytes, secret: str | None = None) -> str:
    secret = secret or PASSWORDS["CGM_0042_PASSWORD"]
    return asyncio.run(_as_device(broker.url, "cgm-0042", secret, subject, data))


def test_a_device_publishes_only_on_its_own_subject(
    api: Any, own_nats: OwnNats, tmp_path: Path
) -> None:
    bind(api, "cgm-0042", twin=True)
    bind(api, "cgm-0043", patient="p-2", twin=True)
    wrong = device(own_nats, "twinreg.devices.cgm-0042.readings", payload(cgm("w", 0)), "nope")
    assert wrong.startswith("connection refused"), wrong
    with running(api.service, ingester(own_nats, tmp_path)):  # makes the streams
        forged = device(own_nats, "twinreg.devices.cgm-0043.readings", payload(cgm("forged", 0)))
        assert "permissions violation for publish" in forged.lower(), forged
        own = device(own_nats, "twinreg.devices.cgm-0042.readings", payload(cgm("own", 0)))
        assert own == "stored", own
        assert wait_for(lambda: stored(api, "device/cgm-0042") == ["own"])
    assert stored(api, "device/cgm-0043") == []  # the server dropped the forged reading
