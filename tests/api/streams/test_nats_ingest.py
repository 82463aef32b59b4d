"""Device readings over NATS JetStream, for real (the machine's NATS): a durable pull
consumer with explicit acks; readings stored once though published twice, one audit
record per batch; refused ones stored in the dead-letter stream with the reason; an
unacknowledged message is delivered again to the next ingester and stored once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import nats
import pytest

from api.composition.settings import StreamSettings
from api.streams import nats_stream
from api.streams.nats_stream import NatsTransport
from api.streams.topics import Topics
from tests.api.streams.brokers import NATS_URL, nats_reachable, wait_for
from tests.api.streams.readings_helpers import cgm, payload, running
from tests.api.streams.test_mqtt_ingest import bind, payloads, stored


@pytest.fixture()
def prefix() -> Any:
    nats_reachable()
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    asyncio.run(_delete_streams(Topics(name)))


async def _delete_streams(topics: Topics) -> None:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    for stream in (topics.stream, topics.dead_letter_stream):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(stream)
    await nc.close()


async def _publish(prefix: str, device: str, messages: list[bytes]) -> None:
    """As a device: JetStream publishes, each acknowledged by the stream."""
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    for message in messages:
        await js.publish(f"{prefix}.devices.{device}.readings", message)
    await nc.close()


async def _dead_letters(topics: Topics) -> list[dict[str, Any]]:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    sub = await js.pull_subscribe(topics.nats_dead_letters, stream=topics.dead_letter_stream)
    try:
        letters = await sub.fetch(100, timeout=2)
    except nats.errors.TimeoutError:
        letters = []
    await nc.close()
    return [json.loads(m.data) for m in letters]


def transport(prefix: str) -> NatsTransport:
    return NatsTransport(StreamSettings(prefix=prefix, nats_url=NATS_URL))


def test_readings_over_jetstream_are_stored_once_and_refusals_dead_lettered(
    api: Any, prefix: str
) -> None:
    bind(api, "cgm-1", twin=True)
    readings = [payload(cgm(f"r{i}", 5 * i)) for i in range(30)]
    with running(api.service, transport(prefix)):  # makes the streams and the consumer
        asyncio.run(_publish(prefix, "cgm-1", readings + readings[:5] + [b"[]"]))
        asyncio.run(_publish(prefix, "cgm-9", [payload(cgm("x", 0))]))
        assert wait_for(lambda: len(stored(api, "device/cgm-1")) == 30)
        assert wait_for(lambda: len(asyncio.run(_dead_letters(Topics(prefix)))) == 2)
    assert stored(api, "device/cgm-1") == sorted(f"r{i}" for i in range(30))
    batches = payloads(api, "observation.ingest")
    assert all(b["via"] == "nats" and b["digest"] for b in batches)
    assert sum(len(b["stored"]) for b in batches) == 30
    letters = asyncio.run(_dead_letters(Topics(prefix)))
    assert sorted((x["device"], x["reason"]) for x in letters) == [
        ("cgm-1", "malformed"),
        ("cgm-9", "not_bound"),
    ]


def test_an_unacknowledged_reading_is_delivered_again_and_stored_once(
    api: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reading the first ingester received but never acknowledged (it was stopped
    before its batch) reaches the next one once the ack wait is over, and is stored."""
    monkeypatch.setattr(nats_stream, "ACK_WAIT_SECONDS", 2.0)  # the consumer's, when made
    bind(api, "cgm-1", twin=True)
    first = transport(prefix)
    first.start()
    asyncio.run(_publish(prefix, "cgm-1", [payload(cgm("r1", 0))]))
    received = first.receive(10, 0.05)
    assert [d.device for d in received] == ["cgm-1"]
    first.stop()  # gone without acknowledging
    assert stored(api, "device/cgm-1") == []
    with running(api.service, transport(prefix)):
        assert wait_for(lambda: stored(api, "device/cgm-1") == ["r1"], seconds=30)
