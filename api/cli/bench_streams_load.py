"""The streams bench's devices and clocks: readings published at QoS 1 (MQTT) or to
JetStream, each with its send time; when each was stored (its batch's ``observation.ingest``
record, appended in the committing transaction); when a twin's state was made."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, text

START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def cgm(reading: str, minute: int) -> bytes:
    """One CGM reading, FHIR Observation JSON (as a device sends it)."""
    return json.dumps({
        "resourceType": "Observation", "status": "final",
        "identifier": [{"value": reading}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "99504-3"}]},
        "effectiveDateTime": (START + timedelta(minutes=minute)).isoformat(),
        "valueQuantity": {"value": 100 + minute % 80, "system": "http://unitsofmeasure.org",
                          "code": "mg/dL"},
    }).encode()  # fmt: skip


def mqtt_publish(url_port: int, devices: Sequence[str], count: int, rate: float | None,
                 tag: str) -> dict[str, float]:  # fmt: skip
    """``count`` readings per device, ``rate`` per second in all (None: at once); returns
    each reading's send time once the broker acknowledged them all."""
    clients = []
    for device in devices:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{device}",
                             protocol=mqtt.MQTTv5)  # fmt: skip
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.connect("127.0.0.1", url_port)
        client.loop_start()
        clients.append((device, client))
    sent: dict[str, float] = {}
    infos = []
    began = time.monotonic()
    for n in range(count):
        for device, client in clients:
            reading = f"{tag}-{device}-{n}"
            sent[reading] = time.time()
            infos.append(client.publish(f"twinreg/devices/{device}/readings", cgm(reading, n),
                                        qos=1))  # fmt: skip
            if rate is not None:
                _pace(began, len(sent), rate)
    for info in infos:
        info.wait_for_publish(60)
    for _, client in clients:
        client.disconnect()
        client.loop_stop()
    return sent


def _pace(began: float, done: int, rate: float) -> None:
    ahead = began + done / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)


def nats_publish(url: str, prefix: str, devices: Sequence[str], count: int,
                 rate: float | None, tag: str) -> dict[str, float]:  # fmt: skip
    """As :func:`mqtt_publish`, to JetStream (each publish acknowledged by the stream)."""

    async def run() -> dict[str, float]:
        nc = await nats.connect(url)
        js = nc.jetstream()
        sent: dict[str, float] = {}
        pending: list[Any] = []
        began = time.monotonic()
        for n in range(count):
            for device in devices:
                reading = f"{tag}-{device}-{n}"
                sent[reading] = time.time()
                subject = f"{prefix}.devices.{device}.readings"
                pending.append(asyncio.ensure_future(js.publish(subject, cgm(reading, n))))
                if rate is not None:
                    ahead = began + len(sent) / rate - time.monotonic()
                    await asyncio.sleep(max(ahead, 0))
            if len(pending) >= 500:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        await nc.close()
        return sent

    return asyncio.run(run())


_STORED = text(
    "SELECT o.entry_id, a.at FROM twin_observation o JOIN audit_record a "
    "ON a.record_id = o.audit_id WHERE o.entry_id LIKE :tag"
)


def stored_times(engine: Engine, tag: str) -> dict[str, float]:
    """When each reading of ``tag`` was stored (its batch's record time, epoch seconds)."""
    with engine.connect() as conn:
        rows = conn.execute(_STORED, {"tag": f"{tag}-%"}).all()
    return {r[0]: _epoch(r[1]) for r in rows}


def _epoch(value: Any) -> float:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def wait_stored(engine: Engine, tag: str, count: int, seconds: float) -> dict[str, float]:
    deadline = time.monotonic() + seconds
    found = stored_times(engine, tag)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        found = stored_times(engine, tag)
    return found


def state_times(engine: Engine, twin_id: str) -> list[float]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT created_at FROM twin_state WHERE twin_id = :t "
                                 "ORDER BY number"), {"t": twin_id}).all()  # fmt: skip
    return [_epoch(r[0]) for r in rows]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
