"""``twinreg demo-clinic``'s device stream: a CGM publishes a day of readings on MQTT.

Over HTTP as the clinician: a glucose patient registered and consenting, their glucose
twin made, the pump's record of the day (weight, basal, meals, boluses) stored, the CGM
``cgm-204`` bound to the patient and the twin. The ingester runs in this process as
``twinreg ingest`` runs it (:func:`api.streams.ingester.start_ingesters`) against the
broker of the settings (``TWINREG_MQTT_URL``, the machine's Mosquitto on 127.0.0.1:1883 by
default), under a topic prefix and session of this run's own (the session is ended
afterwards). The CGM publishes 288 readings (one every 5 min, QoS 1) on its own topic, as
a client of its own; once they are stored (the twin recalibrated by the device as
``policies/recalibration.toml`` says meanwhile) the clinician recalibrates the twin and its
state is printed in words with units. A broker that cannot be reached, or that refuses
the device, skips the step with one line saying why.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console

from api.cli.demo_glucose_twin import CATEGORIES, MODEL, PURPOSE, SUBJECT, estimate_words
from api.cli.demo_glucose_twin import glucose_observations as day_record
from api.composition.service import TwinregService
from api.composition.settings import StreamSettings
from api.streams.errors import BrokerError
from api.streams.ingester import Running, start_ingesters
from api.streams.mqtt import MqttTransport
from governance.twins.views import Record
from models.calibration.bench import virtual_days
from models.calibration.glucose_prior import LOG_MEDIAN

CGM_PATIENT = "patient-204"
DEVICE = "cgm-204"
READINGS = 288  # a day, one every 5 minutes
SEED = 204
STORED_WITHIN_S = 120.0


def run_cgm_day(
    service: TwinregService, http: httpx.Client, site: str, console: Console
) -> bool | None:
    """The step; True when the twin was recalibrated on the day, None when skipped (the
    line printed says why), False when a step failed."""
    run = uuid.uuid4().hex[:8]
    streams = dataclasses.replace(service.settings.streams, prefix=f"demo-{run}",
                                  mqtt_client_id=f"twinreg-demo-{run}")  # fmt: skip
    stop = threading.Event()
    try:
        running = start_ingesters(service, [MqttTransport(streams)], stop)
    except BrokerError as exc:
        console.print(f"skipped: the CGM's day on MQTT needs a broker ({exc})", markup=False)
        return None
    try:
        return _day(http, running, streams, site, console)
    finally:
        running.close()
        _end_session(streams)


def _day(
    http: httpx.Client, running: Running, streams: StreamSettings, site: str, console: Console
) -> bool | None:
    days, truth = virtual_days(SUBJECT, 1, seed=SEED)
    record = day_record(days)
    cgm = [e for e in record if e["kind"] == "glucose_cgm"][:READINGS]
    pump = [e for e in record if e["kind"] != "glucose_cgm"]
    twin_id = _set_up(http, pump, site, console)
    if twin_id is None:
        return False
    topic = f"{streams.prefix}/devices/{DEVICE}/readings"
    refusal = _publish(streams, topic, cgm)
    if refusal is not None:
        said = f"skipped: the broker refused the CGM {DEVICE} ({refusal}); give each device "
        console.print(said + "credentials and an ACL (README, device streams)", markup=False)
        return None
    console.print(f"{DEVICE} published {len(cgm)} readings (every 5 min, a day) on {topic}")
    deadline = time.monotonic() + STORED_WITHIN_S
    while running.stored < len(cgm) and time.monotonic() < deadline and running.alive():
        time.sleep(0.05)
    refused = sum(i.refused for i in running.ingesters)
    console.print(f"the ingester stored {running.stored} of them under consent "
                  f"({refused} dead-lettered)")  # fmt: skip
    if running.stored < len(cgm):
        console.print(f"[red]only {running.stored} of {len(cgm)} readings stored")
        return False
    running.close()  # the device's recalibration under way finishes first
    console.print(f"recalibrated by the device meanwhile: {running.recalibrator.calibrated} "
                  "time(s) (glucose_t1d: every 12 readings or 60 minutes)")  # fmt: skip
    path = f"/v1/patients/{CGM_PATIENT}/twins/{twin_id}/calibrations"
    r = http.post(path)
    if r.status_code != 201:
        console.print(f"[red]POST {path}: {r.status_code} {r.text[:400]}")
        return False
    state = r.json()
    at = datetime.fromisoformat(state["at"])
    recorded = Record(state["id"], state["kind"], at, state["audit_id"], state["body"],
                      state["number"], state["status"])  # fmt: skip
    for line in estimate_words(recorded, np.exp(LOG_MEDIAN + truth)):
        console.print(line, markup=False)
    return True


def _set_up(
    http: httpx.Client, pump: list[dict[str, Any]], site: str, console: Console
) -> str | None:
    """The patient, consent, twin, pump record and binding; the twin's id (None: failed)."""
    base = f"/v1/patients/{CGM_PATIENT}"
    steps = [
        ("PUT", base, {"site": site}),
        ("POST", f"{base}/consents", {"purpose": PURPOSE, "data_categories": CATEGORIES}),
        ("POST", f"{base}/twins", {"model": MODEL, "purpose": PURPOSE}),
    ]
    answers = []
    for method, path, body in steps:
        r = http.request(method, path, json=body)
        if r.status_code not in (200, 201):
            console.print(f"[red]{method} {path}: {r.status_code} {r.text[:400]}")
            return None
        answers.append(r.json())
    twin_id: str = answers[-1]["twin_id"]
    r = http.post(f"{base}/observations", json={"observations": pump})
    if r.status_code != 201:
        console.print(f"[red]POST {base}/observations: {r.status_code} {r.text[:400]}")
        return None
    http.delete(f"/v1/devices/{DEVICE}/binding")  # a binding of an earlier run, if any
    r = http.post(f"/v1/devices/{DEVICE}/binding",
                  json={"patient_id": CGM_PATIENT, "twin_id": twin_id})  # fmt: skip
    if r.status_code != 201:
        console.print(f"[red]binding {DEVICE}: {r.status_code} {r.text[:400]}")
        return None
    console.print(f"glucose twin {twin_id} of {CGM_PATIENT} ({MODEL}); the pump's record of "
                  f"the day stored ({len(pump)} entries); {DEVICE} bound to it")  # fmt: skip
    return twin_id


def _client(
    streams: StreamSettings, client_id: str, clean: bool = True
) -> tuple[mqtt.Client, str | None]:
    """A connected MQTT 5 client of the settings' broker (anonymous), or the refusal."""
    url = urlsplit(streams.mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(100)
    answered = threading.Event()
    refusal: list[str] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            refusal.append(str(reason))
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(url.hostname or "127.0.0.1", url.port or 1883, clean_start=clean)
    except OSError as exc:
        return client, str(exc)
    client.loop_start()
    if not answered.wait(10):
        refusal.append("no answer in 10 s")
    if refusal:
        client.loop_stop()
        return client, refusal[0]
    return client, None


def _publish(streams: StreamSettings, topic: str, readings: list[dict[str, Any]]) -> str | None:
    """The CGM's readings, one message each (QoS 1, each acknowledged by the broker); the
    broker's refusal of the device, if it refused it."""
    device, refusal = _client(streams, DEVICE)
    if refusal is not None:
        return refusal
    try:
        sent = [device.publish(topic, json.dumps({k: v for k, v in r.items() if k != "source"}),
                               qos=1) for r in readings]  # fmt: skip
        for info in sent:
            info.wait_for_publish(30)
    finally:
        device.disconnect()
        device.loop_stop()
    return None


def _end_session(streams: StreamSettings) -> None:
    """End the run's persistent session on the broker (a clean start discards it)."""
    client, refusal = _client(streams, streams.mqtt_client_id, clean=True)
    if refusal is None:
        client.disconnect()
        client.loop_stop()
