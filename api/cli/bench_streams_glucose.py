"""The streams bench's CGM twin: a glucose twin fed by a device, recalibrated as
``policies/recalibration.toml`` says (``glucose_t1d``: every 12 readings, or 60 minutes).

The patient (the demo's virtual adult, one day: :func:`models.calibration.bench.virtual_days`)
has their pump's record and the first CGM readings stored directly; the device ``cgm-t1d``
is bound to the twin and publishes the rest. Each round publishes 11 readings, waits until
they are stored (no recalibration is due yet), then publishes the 12th and measures from
its publish to the new state stored by the ingester's recalibration."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import bindparam, text

from api.cli.bench_streams_load import state_times
from api.cli.bench_streams_setup import CATEGORIES, publish
from api.cli.demo import CLINICIAN, SITE
from api.cli.demo_glucose_twin import MODEL, SUBJECT, glucose_observations
from api.composition.service import TwinregService
from models.calibration.bench import virtual_days

PATIENT, DEVICE = "patient-t1d", "cgm-t1d"
#: Readings stored directly before the device's: half a day of CGM.
DIRECT_CGM = 144
EVERY = 12  # the policy's every_readings for glucose_t1d
_STATUS = text("SELECT status FROM twin_state WHERE twin_id = :t AND number = :n")


def glucose_patient(service: TwinregService) -> tuple[str, list[dict[str, Any]]]:
    """The twin (bound to :data:`DEVICE`) and the CGM readings left for the device."""
    days, _ = virtual_days(SUBJECT, 1, seed=SUBJECT)
    record = glucose_observations(days)
    cgm = [e for e in record if e["kind"] == "glucose_cgm"]
    first = [e for e in record if e["kind"] != "glucose_cgm"] + cgm[:DIRECT_CGM]
    service.patients.register(CLINICIAN, PATIENT, SITE)
    service.patients.grant(CLINICIAN, PATIENT, "treatment", CATEGORIES, None, None)
    twin = service.twins.create(CLINICIAN, PATIENT, MODEL, None, "treatment").id
    service.twins.ingest(CLINICIAN, PATIENT, first, None, None)
    service.devices.bind(CLINICIAN, DEVICE, PATIENT, twin)
    return twin, cgm[DIRECT_CGM:]


def glucose_recalibration(service: TwinregService, port: int, rounds: int) -> list[float]:
    """Seconds from the publish of each round's 12th reading to the twin's next state."""
    twin, left = glucose_patient(service)
    if len(left) < rounds * EVERY:
        raise RuntimeError(f"{rounds} rounds need {rounds * EVERY} readings, not {len(left)}")
    _next_state(service, twin, 0, 90)  # the sweep calibrates on what was stored directly
    delays = []
    for k in range(rounds):
        readings = left[k * EVERY : (k + 1) * EVERY]
        for reading in readings[:-1]:
            publish(port, DEVICE, _message(reading))
        _wait_ids(service, [r["id"] for r in readings[:-1]])
        before = len(state_times(service.engine, twin))
        sent = time.time()
        publish(port, DEVICE, _message(readings[-1]))
        delays.append(_next_state(service, twin, before, 60) - sent)
    return delays


def _message(reading: dict[str, Any]) -> bytes:
    """A reading as the device sends it: the observation schema, no source (the topic's)."""
    return json.dumps({k: v for k, v in reading.items() if k != "source"}).encode()


def _wait_ids(service: TwinregService, ids: list[str], seconds: float = 60) -> None:
    query = text(
        "SELECT count(*) FROM twin_observation WHERE source = :s AND entry_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with service.engine.connect() as conn:
            found = conn.execute(query, {"s": f"device/{DEVICE}", "ids": ids}).scalar_one()
        if found == len(ids):
            return
        time.sleep(0.02)
    raise RuntimeError(f"the device's readings were not stored within {seconds:g} s")


def _next_state(service: TwinregService, twin: str, before: int, seconds: float) -> float:
    """When the twin's state after its ``before`` first ones was stored (epoch seconds);
    a state that did not converge is no recalibration (:class:`RuntimeError`)."""
    deadline = time.monotonic() + seconds
    while len(states := state_times(service.engine, twin)) <= before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the glucose twin was not recalibrated within {seconds:g} s")
        time.sleep(0.01)
    with service.engine.connect() as conn:
        status = conn.execute(_STATUS, {"t": twin, "n": before + 1}).scalar_one()
    if status != "converged":
        raise RuntimeError(f"the glucose twin's state {before + 1} is {status}, not converged")
    return states[before]
