"""The radiotherapy patient twin through the real app: created from the approved
radiotherapy-response version, fed fractions and tumour volumes, calibrated, forecast with a
planned scenario and explained, its thread replayed; each refusal (no volume, too few, no
fraction, a volume of 0, a scenario of the wrong kind or unit, a vancomycin regimen) is a
422 naming the field, audited with its reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from api.composition.twins import replay
from governance.twins.views import Record
from tests.api.helpers import prepare_patient
from tests.api.twin_course import audit_body
from tests.api.twin_course import obs as observation

MODEL = "radiotherapy-response"
CATEGORIES = ["imaging", "history", "medication"]
P = "/v1/patients/p-1"
#: Weekdays from Monday 9 March 2026, 09:00 UTC: three weeks of 2 Gy.
DAYS = [9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 23, 24, 25, 26, 27]
FRACTIONS = [
    observation(f"fx{i}", "radiotherapy_fraction", f"2026-03-{d:02d}T09:00:00Z", value=2, unit="Gy")
    for i, d in enumerate(DAYS)
]
#: The planning CT a week before, then a cone-beam CT each Monday before the fraction.
VOLUMES = [
    observation(f"v{i}", "tumour_volume", f"2026-03-{d:02d}T08:00:00Z", value=v, unit="cm3",
                code="twinreg:tumour-volume")
    for i, (d, v) in enumerate([(2, 40.0), (9, 41.5), (16, 36.0), (23, 31.0), (30, 27.5)])
]  # fmt: skip
PLAN = [
    observation(f"plan{i}", "radiotherapy_fraction", f"2026-03-{d:02d}T09:00:00Z",
                value=200, unit="cGy")
    for i, d in enumerate([30, 31])
]  # fmt: skip
FORECAST = {"start": "2026-03-30T08:30:00Z", "horizon_h": 21 * 24.0, "scenario": PLAN}


@pytest.fixture()
def twin(api: Any) -> str:
    prepare_patient(api, "p-1", CATEGORIES)
    r = api.client.post(P + "/twins", json={"model": MODEL, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    twin_id: str = r.json()["twin_id"]
    return twin_id


def add(api: Any, observations: list[dict[str, Any]]) -> Any:
    r = api.client.post(P + "/observations", json={"observations": observations},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    return r


def calibrate(api: Any, twin_id: str) -> Any:
    return api.client.post(f"{P}/twins/{twin_id}/calibrations", headers=api.clinician)


def forecast(api: Any, twin_id: str, request: dict[str, Any]) -> Any:
    return api.client.post(f"{P}/twins/{twin_id}/forecasts", json=request, headers=api.clinician)


def test_the_radiotherapy_course_end_to_end_with_its_thread(api: Any, twin: str) -> None:
    add(api, FRACTIONS + VOLUMES)
    r = calibrate(api, twin)
    assert r.status_code == 201, r.text
    body = r.json()["body"]
    assert body["status"] == "converged" and body["prior_version"].startswith("radiotherapy-card")
    assert body["time_origin"] == "2026-03-02T08:00:00+00:00"
    assert len(body["observation_ids"]) == len(FRACTIONS) + len(VOLUMES)
    posterior = body["posterior"]
    names = [n for n, _ in posterior["parameters"]]
    assert names[:3] == ["initial_volume", "growth_rate", "alpha"]
    assert all(0.0 < s < 1.0 for s in posterior["shrinkage"])
    # the volume fell ~13 % a week under 10 Gy, the typical tumour (0.05/Gy) ~40 %
    assert dict(posterior["parameters"])["alpha"] < 0.05
    r = forecast(api, twin, FORECAST)
    assert r.status_code == 201, r.text
    out = r.json()["body"]
    fc = out["forecast"]
    assert len(fc["times"]) == 22 and fc["times"][0] == pytest.approx(28.0 + 0.5 / 24)
    assert all(lo <= v <= hi for lo, v, hi in
               zip(fc["volume_low"], fc["volume"], fc["volume_high"], strict=True))  # fmt: skip
    assert fc["volume_at_horizon_low"] <= fc["volume_at_horizon"] <= fc["volume_at_horizon_high"]
    assert fc["volume_at_horizon"] == fc["volume"][-1]
    explained = out["explanation"]
    total = explained["base"] + sum(v for _, v in explained["contributions"])
    assert total == pytest.approx(explained["value"], rel=1e-9)
    assert explained["value"] == pytest.approx(fc["volume_at_horizon"], rel=1e-12)
    assert [p for p, _ in explained["contributions"]] == ["eta_growth_rate", "eta_alpha"]
    influence = out["influence"]
    assert len(influence) == len(VOLUMES)
    assert {i["volume_id"] for i in influence} < set(body["observation_ids"])
    assert all(i["alpha_change"] is not None for i in influence)
    thread = api.client.get(f"{P}/twins/{twin}/thread", headers=api.clinician).json()
    records = [Record(o["id"], o["kind"], datetime.fromisoformat(o["at"]), o["audit_id"], o["body"])
               for o in thread["records"] if o["kind"] not in ("state", "forecast")]  # fmt: skip
    stored = next(rec for rec in thread["records"] if rec["kind"] == "state")
    assert replay(records, stored["body"]["observation_ids"], "radiotherapy") == stored["body"]


def test_planned_fractions_shrink_the_forecast_against_no_plan(api: Any, twin: str) -> None:
    add(api, FRACTIONS + VOLUMES)
    assert calibrate(api, twin).status_code == 201
    planned = forecast(api, twin, FORECAST).json()["body"]["forecast"]
    unplanned = forecast(api, twin, {**FORECAST, "scenario": None}).json()["body"]["forecast"]
    assert planned["volume_at_horizon"] < unplanned["volume_at_horizon"]
    assert unplanned["relative_reduction"] < 0.0  # untreated, the tumour regrows


@pytest.mark.parametrize(
    ("observations", "field", "why"),
    [
        (FRACTIONS, "tumour_volume", "missing"),
        (FRACTIONS + VOLUMES[:1], "tumour_volume", "missing"),
        (FRACTIONS[:3] + VOLUMES[:2], "tumour_volume", "missing"),  # none after a fraction
        (VOLUMES, "radiotherapy_fraction", "missing"),
        (FRACTIONS + VOLUMES + [{**VOLUMES[0], "id": "zero", "value": 0}], "tumour_volume",
         "invalid"),
        (FRACTIONS + VOLUMES + [{**FRACTIONS[0], "id": "again"}], "radiotherapy_fraction",
         "invalid"),
    ],
    ids=["no-volume", "one-volume", "none-after-a-fraction", "no-fraction", "zero-volume",
         "two-fractions-at-once"],
)  # fmt: skip
def test_unusable_data_is_422_naming_the_field_and_audited(
    api: Any, twin: str, observations: list[dict[str, Any]], field: str, why: str
) -> None:
    add(api, observations)
    r = calibrate(api, twin)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    record = audit_body(api, r.json()["audit_id"])
    assert record["action"] == "twin.calibration" and record["decision"] == "withheld"
    assert record["checks"][-1]["detail"] == (
        f"the prediction could not be computed ({why}: {field})"
    )
    states = api.client.get(f"{P}/twins/{twin}/thread", headers=api.clinician).json()
    assert not [rec for rec in states["records"] if rec["kind"] == "state"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scenario": [{**PLAN[0], "unit": "Sv"}]}, "scenario[0].unit"),
        ({"scenario": [{**PLAN[0], "value": 5000}]}, "scenario[0].value"),
        ({"scenario": [VOLUMES[0]]}, "scenario[0].kind"),
        ({"scenario": [{**PLAN[0], "time": "2026-05-30T09:00:00Z"}]}, "scenario[0].time"),
        ({"dose_mg": 1000}, "dose_mg"),
        ({"horizon_h": 2.0}, "horizon_h"),
        ({"start": "2026-03-01T00:00:00Z", "scenario": None}, "start"),
    ],
    ids=["unit", "bounds", "kind", "after-horizon", "regimen", "horizon", "before-origin"],
)  # fmt: skip
def test_a_bad_forecast_request_is_422_naming_the_field(
    api: Any, twin: str, change: dict[str, Any], field: str
) -> None:
    add(api, FRACTIONS + VOLUMES)
    assert calibrate(api, twin).status_code == 201
    r = forecast(api, twin, {**FORECAST, **change})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
