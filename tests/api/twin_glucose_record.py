"""A glucose (type 1 diabetes) record as observations, for the API tests: a virtual adult's
day of CGM from the project's kernel (:mod:`api.cli.demo_glucose_twin`)."""

from __future__ import annotations

from typing import Any

from api.cli.demo_glucose_twin import at_minutes, glucose_observations
from models.calibration.bench import virtual_days

GLUCOSE = "glucose-t1d-tir"
CATEGORIES = ["demographics", "history", "labs", "medication"]
P = "/v1/patients/p-1"
CHUNK = 250


def record(n_days: int = 1, subject: int = 14) -> list[dict[str, Any]]:
    """The observations of ``n_days`` of a virtual adult; every fourth CGM reading in
    mmol/L (``value / 18.016``, the table's conversion)."""
    days, _ = virtual_days(subject, n_days, seed=subject)
    out = glucose_observations(days)
    cgm = [o for o in out if o["kind"] == "glucose_cgm"]
    for o in cgm[::4]:
        o["value"], o["unit"] = o["value"] / 18.016, "mmol/L"
    return out


def add(api: Any, observations: list[dict[str, Any]]) -> list[str]:
    """Ingest in chunks under the request limits; the ids stored."""
    stored: list[str] = []
    for i in range(0, len(observations), CHUNK):
        r = api.client.post(P + "/observations", headers=api.clinician,
                            json={"observations": observations[i : i + CHUNK]})  # fmt: skip
        assert r.status_code == 201, r.text
        stored += r.json()["stored"]
    return stored


def new_glucose_twin(api: Any) -> str:
    from tests.api.helpers import prepare_patient

    prepare_patient(api, "p-1", CATEGORIES)
    r = api.client.post(P + "/twins", json={"model": GLUCOSE, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    twin_id: str = r.json()["twin_id"]
    return twin_id


#: A time so many minutes after the record's start (RFC 3339).
at = at_minutes
