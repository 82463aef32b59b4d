"""``twinreg bench --suite streams``: device-stream figures, side by side in one run, on a
home of its own (a temporary folder: the vancomycin and glucose twins governed, patients consented,
devices bound), a Mosquitto of its own configured as the README says, the machine's NATS
(``TWINREG_NATS_URL``) under a prefix of its own, and ``twinreg ingest`` as a separate
process:

- readings/s stored durably by one ingester draining a backlog (MQTT, JetStream), next to
  the service's own ``ingest`` of 500-reading batches in-process (no broker);
- reading-to-stored at a steady 1,000 readings/s: p50, p99 (send time to the record time of
  the batch that stored it);
- reading-to-recalibrated-state (publish of the reading that makes a recalibration due
  to the new state stored) of a device-fed CGM (glucose) twin, recalibrated every 12
  readings (:mod:`api.cli.bench_streams_glucose`), and of a vancomycin twin, every level.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from api.cli.bench_streams_glucose import glucose_recalibration
from api.cli.bench_streams_load import (
    mqtt_publish,
    nats_publish,
    percentile,
    state_times,
    wait_stored,
)
from api.cli.bench_streams_setup import bench_home, direct_rate, level, vancomycin_patient
from api.cli.stream_rig import IngesterProcess, OwnMosquitto, settings_env

DEVICES = [f"cgm-{i}" for i in range(4)]
BACKLOG_PER_DEVICE = 5000
STEADY_RATE = 1000.0
STEADY_SECONDS = 10
STEADY_EACH = int(STEADY_RATE * STEADY_SECONDS / len(DEVICES))
RECALIBRATIONS = 5


def _drain(ingester: IngesterProcess, engine: Any, sent: dict[str, float], tag: str) -> float:
    """Readings/s an ingester stores draining ``sent`` (first to last batch record)."""
    ingester.start()
    stored = wait_stored(engine, tag, len(sent), 600)
    ingester.stop()
    if len(stored) < len(sent):
        raise RuntimeError(f"only {len(stored)} of {len(sent)} readings stored")
    return len(stored) / max(max(stored.values()) - min(stored.values()), 1e-9)


def _latency(engine: Any, sent: dict[str, float], tag: str) -> tuple[float, float]:
    stored = wait_stored(engine, tag, len(sent), 300)
    delays = [stored[r] - sent[r] for r in sent if r in stored]
    if len(delays) < len(sent):
        raise RuntimeError(f"only {len(delays)} of {len(sent)} readings stored")
    return percentile(delays, 0.5), percentile(delays, 0.99)


def _mqtt(service: Any, env: dict[str, str], folder: Path) -> dict[str, float]:
    broker = OwnMosquitto(folder / "mosquitto")
    broker.folder.mkdir()
    broker.start()
    env = {**env, "TWINREG_MQTT_URL": broker.url}
    ingester = IngesterProcess(env, "mqtt", folder / "ingest-mqtt.log")
    try:
        ingester.start()  # its persistent session, then away while the backlog builds
        ingester.stop()
        backlog = mqtt_publish(broker.port, DEVICES, BACKLOG_PER_DEVICE, None, "mb")
        rate = _drain(ingester, service.engine, backlog, "mb")
        ingester.start()
        steady = mqtt_publish(broker.port, DEVICES, STEADY_EACH, STEADY_RATE, "ms")
        p50, p99 = _latency(service.engine, steady, "ms")
        recal = _recalibration(service, broker.port)
        glucose = glucose_recalibration(service, broker.port, RECALIBRATIONS)
        recal |= {"cgm_median": statistics.median(glucose), "cgm_max": max(glucose)}
    finally:
        ingester.stop()
        broker.stop()
    return {"rate": rate, "p50": p50, "p99": p99, **recal}


def _nats(service: Any, env: dict[str, str], folder: Path) -> dict[str, float]:
    url = service.settings.streams.nats_url
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    env = {**env, "TWINREG_NATS_URL": url, "TWINREG_STREAM_PREFIX": prefix}
    ingester = IngesterProcess(env, "nats", folder / "ingest-nats.log")
    try:
        ingester.start()  # the streams and the durable consumer
        ingester.stop()
        backlog = nats_publish(url, prefix, DEVICES, BACKLOG_PER_DEVICE, None, "nb")
        rate = _drain(ingester, service.engine, backlog, "nb")
        ingester.start()
        steady = nats_publish(url, prefix, DEVICES, STEADY_EACH, STEADY_RATE, "ns")
        p50, p99 = _latency(service.engine, steady, "ns")
    finally:
        ingester.stop()
        asyncio.run(_drop_streams(url, prefix))
    return {"rate": rate, "p50": p50, "p99": p99}


async def _drop_streams(url: str, prefix: str) -> None:
    import nats

    from api.streams.topics import Topics

    nc = await nats.connect(url)
    js = nc.jetstream()
    for stream in (Topics(prefix).stream, Topics(prefix).dead_letter_stream):
        try:
            await js.delete_stream(stream)
        except nats.js.errors.NotFoundError:
            continue
    await nc.close()


def _recalibration(service: Any, port: int) -> dict[str, float]:
    """Publish a level RECALIBRATIONS times; each time, until the twin's next state."""
    twin = vancomycin_patient(service, "vanco-1")
    deadline = time.monotonic() + 60
    while not state_times(service.engine, twin) and time.monotonic() < deadline:
        time.sleep(0.05)  # the sweep calibrates on what waited
    delays = []
    for k in range(RECALIBRATIONS):
        before = len(state_times(service.engine, twin))
        sent = time.time()
        level(port, k)
        deadline = time.monotonic() + 60
        while len(states := state_times(service.engine, twin)) <= before:
            if time.monotonic() > deadline:
                raise RuntimeError("the twin was not recalibrated within 60 s")
            time.sleep(0.01)
        delays.append(states[-1] - sent)
    return {"recal_median": statistics.median(delays), "recal_max": max(delays)}


def run_streams_bench() -> None:
    console = Console(width=150)
    with tempfile.TemporaryDirectory(prefix="twinreg-bench-streams-") as tmp:
        folder = Path(tmp)
        console.print("streams bench: governing the vancomycin and glucose twins (own home)")
        service = bench_home(folder / "home", DEVICES)
        env = settings_env(service.settings)
        direct = direct_rate(service)
        console.print("MQTT (Mosquitto of its own) ...")
        mq = _mqtt(service, env, folder)
        console.print("NATS JetStream ...")
        js = _nats(service, env, folder)
        service.engine.dispose()
    _table(console, direct, mq, js)


def _table(console: Console, direct: float, mq: dict[str, float], js: dict[str, float]) -> None:
    table = Table(title="device streams (one ingester process; 2-core machine)")
    for column in ("figure", "in-process ingest", "MQTT", "NATS JetStream", "target"):
        table.add_column(column)
    table.add_row("readings/s stored durably (backlog of "
                  f"{len(DEVICES) * BACKLOG_PER_DEVICE:,})", f"{direct:,.0f}",
                  f"{mq['rate']:,.0f} ({mq['rate'] / direct:.2f}x)",
                  f"{js['rate']:,.0f} ({js['rate'] / direct:.2f}x)", ">= 2,000")  # fmt: skip
    for q in ("p50", "p99"):
        table.add_row(f"reading-to-stored {q} at {STEADY_RATE:,.0f}/s", "-",
                      f"{mq[q] * 1000:.0f} ms", f"{js[q] * 1000:.0f} ms",
                      "<= 500 ms" if q == "p99" else "-")  # fmt: skip
    table.add_row(f"reading-to-recalibrated state, CGM (glucose) twin, every 12 readings "
                  f"({RECALIBRATIONS} rounds): median / max", "-",
                  f"{mq['cgm_median']:.2f} / {mq['cgm_max']:.2f} s", "-", "<= 5 s")  # fmt: skip
    table.add_row(f"reading-to-recalibrated state, vancomycin twin ({RECALIBRATIONS} levels): "
                  "median / max", "-", f"{mq['recal_median']:.2f} / {mq['recal_max']:.2f} s",
                  "-", "-")  # fmt: skip
    console.print(table)
