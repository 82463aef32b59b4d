"""Crash test: ``twinreg ingest`` (a process of its own) is killed with SIGKILL at seeded
random moments while devices publish, and restarted. Afterwards every reading the broker
acknowledged to its device (an MQTT PUBACK at QoS 1, a JetStream PubAck) — so every one
the ingester acknowledged too — is stored exactly once, each stored row is recorded as
stored by exactly one ``observation.ingest`` record, and the audit chain verifies."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import text

from api.cli.stream_rig import IngesterProcess, settings_env
from api.streams.topics import Topics
from governance.audit.verify import verify
from tests.api.streams.brokers import (
    INGESTER,
    NATS_URL,
    Device,
    Mosquitto,
    nats_reachable,
    wait_for,
)
from tests.api.streams.readings_helpers import cgm, payload
from tests.api.streams.test_mqtt_ingest import bind, payloads
from tests.api.streams.test_nats_ingest import _delete_streams

SEED = 20261207
DEVICES = [f"cgm-{i}" for i in range(3)]
PER_DEVICE = 800
RATE_PER_DEVICE = 100.0  # readings per second: about 8 s of publishing
KILLS = 3


def _mqtt_publisher(broker: Mosquitto) -> Callable[[list[str]], None]:
    def publish(acked: list[str]) -> None:
        devices = [Device(broker, d) for d in DEVICES]
        sent: list[tuple[str, Any]] = []
        for n in range(PER_DEVICE):
            for device in devices:
                reading = f"{device.user}-{n}"
                sent.append((reading, device.publish(payload(cgm(reading, n)))))
            time.sleep(1.0 / RATE_PER_DEVICE)
        for reading, info in sent:
            info.wait_for_publish(30)
            if info.is_published():
                acked.append(reading)
        for device in devices:
            device.close()

    return publish


def _nats_publisher(prefix: str) -> Callable[[list[str]], None]:
    async def run(acked: list[str]) -> None:
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        for n in range(PER_DEVICE):
            for device in DEVICES:
                reading = f"{device}-{n}"
                await js.publish(f"{prefix}.devices.{device}.readings",
                                 payload(cgm(reading, n)))  # fmt: skip
                acked.append(reading)  # the stream acknowledged it
            await asyncio.sleep(1.0 / RATE_PER_DEVICE)
        await nc.close()

    return lambda acked: asyncio.run(run(acked))


_ROWS = text("SELECT entry_id, count(*) FROM twin_observation GROUP BY source, entry_id")


def _rows(api: Any) -> list[tuple[str, int]]:
    with api.service.engine.connect() as conn:
        return [(r[0], int(r[1])) for r in conn.execute(_ROWS)]


@pytest.mark.parametrize("transport", ["mqtt", "nats"])
def test_killing_the_ingester_under_load_loses_no_acknowledged_reading(
    api: Any, request: pytest.FixtureRequest, tmp_path: Path, transport: str
) -> None:
    env = settings_env(api.service.settings)
    if transport == "mqtt":
        broker: Mosquitto = request.getfixturevalue("mosquitto")
        for device in DEVICES:
            broker.add_user(device, "s")
        env |= {"TWINREG_MQTT_URL": broker.url, "TWINREG_MQTT_USERNAME": INGESTER,
                "TWINREG_MQTT_PASSWORD_FILE": str(broker.password_file(INGESTER))}  # fmt: skip
        publisher = _mqtt_publisher(broker)
    else:
        nats_reachable()
        prefix = f"t{uuid.uuid4().hex[:10]}"
        request.addfinalizer(lambda: asyncio.run(_delete_streams(Topics(prefix))))
        env |= {"TWINREG_NATS_URL": NATS_URL, "TWINREG_STREAM_PREFIX": prefix}
        publisher = _nats_publisher(prefix)
    for i, device in enumerate(DEVICES):
        bind(api, device, patient=f"p-{i}", twin=True)
    ingester = IngesterProcess(env, transport, tmp_path / "ingest.log")
    ingester.start()  # makes the session (MQTT) or the streams and consumer (NATS)
    acked: list[str] = []
    publishing = threading.Thread(target=publisher, args=(acked,))
    publishing.start()
    rng = random.Random(SEED)
    during = 0  # kills while the devices were still publishing
    for _ in range(KILLS):  # the later ones may fall while the backlog drains
        time.sleep(rng.uniform(0.3, 1.2))
        during += publishing.is_alive()
        ingester.kill()
        ingester.start()
    publishing.join(timeout=120)
    total = len(DEVICES) * PER_DEVICE
    try:
        assert during >= 1 and len(acked) == total, (during, len(acked))
        assert wait_for(lambda: len(_rows(api)) >= total, seconds=120), ingester.tail()
    finally:
        ingester.stop()
    rows = _rows(api)
    assert {entry for entry, _ in rows} >= set(acked)  # every acknowledged reading stored
    assert all(count == 1 for _, count in rows)  # ... exactly once
    recorded = [s for p in payloads(api, "observation.ingest") for s in p["stored"]]
    assert len(recorded) == len(set(recorded)) == len(rows)  # each row recorded stored once
    assert ingester.starts == KILLS + 1
    report = verify(api.service.engine)
    assert report.ok, report
    assert json.dumps(acked)  # the published ids, for the failure message above
