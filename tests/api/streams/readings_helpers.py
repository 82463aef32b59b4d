"""Readings as a device sends them, and an ingester running in a thread for a test."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from api.streams.ingester import Ingester
from api.streams.recalibration import Recalibrator
from api.streams.transport import Transport

START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def cgm(reading: str, minute: int, mg_dl: float = 110.0, **extra: Any) -> dict[str, Any]:
    """A CGM glucose reading as FHIR Observation JSON."""
    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:example:cgm", "value": reading}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "99504-3"}]},
        "effectiveDateTime": (START + timedelta(minutes=minute)).isoformat(),
        "valueQuantity": {
            "value": mg_dl,
            "unit": "mg/dL",
            "system": "http://unitsofmeasure.org",
            "code": "mg/dL",
        },
        **extra,
    }


def level(reading: str, time: str, mg_l: float) -> dict[str, Any]:
    """A vancomycin level (trough) as FHIR Observation JSON."""
    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"value": reading}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "4092-3"}]},
        "effectiveDateTime": time,
        "valueQuantity": {"value": mg_l, "system": "http://unitsofmeasure.org", "code": "mg/L"},
    }


def payload(value: Any) -> bytes:
    return json.dumps(value).encode()


@contextmanager
def running(
    service: Any, transport: Transport, recalibrate: bool = False, batch: int = 500
) -> Iterator[Ingester]:
    """An ingester on ``transport`` in a thread (and its recalibrator) until the block ends."""
    stop = threading.Event()
    recalibrator = Recalibrator(service) if recalibrate else None
    transport.start()
    ingester = Ingester(service, transport, recalibrator, batch, 0.02)
    thread = threading.Thread(target=ingester.run, args=(stop,))
    thread.start()
    if recalibrator is not None:
        recalibrator.start(stop)
    try:
        yield ingester
    finally:
        stop.set()
        thread.join(timeout=30)
        if recalibrator is not None:
            recalibrator.join()
        transport.stop()
