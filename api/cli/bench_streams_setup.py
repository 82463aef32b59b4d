"""The streams bench's home: the vancomycin and glucose twins governed as the demo does, patients
registered and consented with a twin each, devices bound; and the in-process baseline."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from api.cli.bench_streams_load import START
from api.cli.demo import CLINICIAN, SITE, _govern
from api.composition.service import TwinregService
from api.composition.settings import Settings
from models.mechanistic_demo import train_mechanistic_twins

VANCO = "vancomycin-auc"
GLUCOSE = "glucose-t1d-tir"
CATEGORIES = ["demographics", "labs", "medication", "history"]
DIRECT_BATCHES = 10


def bench_home(home: Path, devices: Sequence[str]) -> TwinregService:
    home.mkdir(mode=0o700)
    environ = {k: v for k, v in os.environ.items() if k == "TWINREG_NATS_URL"}
    service = TwinregService(Settings.load(home, environ=environ))
    for twin in [t for t in train_mechanistic_twins() if t.name in (VANCO, GLUCOSE)]:
        refused = _govern(service, twin)
        if refused:
            raise RuntimeError(f"the bench's {twin.name} twin was not approved: {refused}")
    for device in devices:
        _patient(service, f"patient-{device}")
        service.devices.bind(CLINICIAN, device, f"patient-{device}", None)
    return service


def _patient(service: TwinregService, patient: str) -> str:
    service.patients.register(CLINICIAN, patient, SITE)
    service.patients.grant(CLINICIAN, patient, "treatment", CATEGORIES, None, None)
    return service.twins.create(CLINICIAN, patient, VANCO, None, "treatment").id


def _cgm_entries(tag: str, count: int) -> list[dict[str, Any]]:
    return [{"id": f"{tag}-{n}", "source": "bench", "kind": "glucose_cgm", "unit": "mg/dL",
             "time": (START + timedelta(minutes=n)).isoformat(), "value": 100 + n % 80}
            for n in range(count)]  # fmt: skip


def direct_rate(service: TwinregService) -> float:
    """Readings/s of ``TwinService.ingest`` called in-process with 500-reading batches."""
    _patient(service, "patient-direct")
    batches = [_cgm_entries(f"direct{b}", 500) for b in range(DIRECT_BATCHES)]
    began = time.perf_counter()
    for batch in batches:
        service.twins.ingest(CLINICIAN, "patient-direct", batch, None, None)
    return DIRECT_BATCHES * 500 / (time.perf_counter() - began)


def vancomycin_patient(service: TwinregService, device: str) -> str:
    """A vancomycin course (covariates, doses, a peak) bound to ``device`` with its twin."""
    twin = _patient(service, "patient-vanco")

    def obs(ident: str, kind: str, at: str, **fields: Any) -> dict[str, Any]:
        return {"id": ident, "source": "ward", "kind": kind, "time": at, **fields}

    doses = [obs(f"d{i}", "vancomycin_dose", at, components={
        "amount": {"value": 1000, "unit": "mg"}, "start": at,
        "duration": {"value": 1, "unit": "h"}})
        for i, at in enumerate(["2026-03-01T08:00:00Z", "2026-03-01T20:00:00Z",
                                "2026-03-02T08:00:00Z", "2026-03-02T20:00:00Z"])]  # fmt: skip
    course = [
        obs("age", "age", "2026-03-01T06:00:00Z", value=55, unit="a"),
        obs("sex", "sex", "2026-03-01T06:00:00Z", value="male"),
        obs("wt", "weight", "2026-03-01T06:00:00Z", value=80, unit="kg"),
        obs("scr", "serum_creatinine", "2026-03-01T06:30:00Z", value=1.0, unit="mg/dL"),
        *doses,
        obs("l1", "vancomycin_level", "2026-03-02T10:00:00Z", value=28.0, unit="mg/L"),
    ]
    service.twins.ingest(CLINICIAN, "patient-vanco", course, None, None)
    service.devices.bind(CLINICIAN, device, "patient-vanco", twin)
    return twin


def publish(port: int, device: str, payload: bytes) -> None:
    """``device`` sends one message on its topic (QoS 1, acknowledged by the broker)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{device}",
                         protocol=mqtt.MQTTv5)  # fmt: skip
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(f"twinreg/devices/{device}/readings", payload, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def level(port: int, k: int) -> None:
    """Device ``vanco-1`` sends its ``k``-th trough level (QoS 1, acknowledged)."""
    reading = {"resourceType": "Observation", "status": "final",
               "identifier": [{"value": f"lvl-{k}"}],
               "code": {"coding": [{"system": "http://loinc.org", "code": "4092-3"}]},
               "effectiveDateTime": f"2026-03-03T0{3 + k}:00:00Z",
               "valueQuantity": {"value": 17.0 - k, "system": "http://unitsofmeasure.org",
                                 "code": "mg/L"}}  # fmt: skip
    publish(port, "vanco-1", json.dumps(reading).encode())
