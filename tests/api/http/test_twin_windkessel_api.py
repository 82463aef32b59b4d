"""The Windkessel patient twin through the real app: created from the approved windkessel-map
version, fed cuff readings and heart rates, calibrated, forecast over a heart-rate scenario
(explained, leave-one-out), its calibration replayed from the thread; and its refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from api.composition.twins import replay
from governance.twins.views import Record
from tests.api.helpers import prepare_patient
from tests.api.twin_course import obs

MODEL = "windkessel-map"
P = "/v1/patients/p-1"


def bp(ident: str, time: str, systolic: float, diastolic: float) -> dict[str, Any]:
    parts = {"systolic": {"value": systolic, "unit": "mm[Hg]"},
             "diastolic": {"value": diastolic, "unit": "mm[Hg]"}}  # fmt: skip
    return obs(ident, "blood_pressure", time, components=parts, code="85354-9")


def hr(ident: str, time: str, rate: float) -> dict[str, Any]:
    return obs(ident, "heart_rate", time, value=rate, unit="/min")


VITALS = [
    hr("hr1", "2026-03-01T08:00:00Z", 64), bp("bp1", "2026-03-01T08:01:00Z", 128, 84),
    hr("hr2", "2026-03-01T14:00:00Z", 82), bp("bp2", "2026-03-01T14:00:00Z", 141, 90),
    hr("hr3", "2026-03-02T08:00:00Z", 70), bp("bp3", "2026-03-02T08:02:00Z", 131, 86),
]  # fmt: skip


@pytest.fixture()
def twin(api: Any) -> str:
    prepare_patient(api, "p-1", ["vitals", "imaging"])
    r = api.client.post(P + "/twins", json={"model": MODEL, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    twin_id: str = r.json()["twin_id"]
    return twin_id


def add(api: Any, observations: list[dict[str, Any]]) -> Any:
    return api.client.post(P + "/observations", json={"observations": observations},
                           headers=api.clinician)  # fmt: skip


def calibrate(api: Any, twin_id: str) -> Any:
    return api.client.post(f"{P}/twins/{twin_id}/calibrations", headers=api.clinician)


def forecast(api: Any, twin_id: str, **request: Any) -> Any:
    body = {"start": "2026-03-02T09:00:00Z", "horizon_h": 6, **request}
    return api.client.post(f"{P}/twins/{twin_id}/forecasts", json=body, headers=api.clinician)


def test_the_windkessel_twin_end_to_end_with_its_thread(api: Any, twin: str) -> None:
    assert add(api, VITALS).status_code == 201
    r = calibrate(api, twin)
    assert r.status_code == 201, r.text
    state = r.json()["body"]
    assert state["status"] == "converged" and state["prior_version"].startswith("windkessel")
    assert len(state["observation_ids"]) == len(VITALS)
    posterior = state["posterior"]
    assert len(posterior["eta"]) == len(posterior["sd"]) == len(posterior["shrinkage"]) == 2
    assert [n for n, _ in posterior["parameters"]][:2] == ["R_p", "C"]
    # a planned rise of the heart rate to 95 bpm at 11:30
    planned = [{"kind": "heart_rate", "time": "2026-03-02T11:30:00Z", "value": 95, "unit": "/min"}]
    r = forecast(api, twin, scenario=planned)
    assert r.status_code == 201, r.text
    out = r.json()["body"]
    fc = out["forecast"]
    assert fc["heart_rate"][0] == 70 and fc["heart_rate"][-1] == 95
    assert 2.5 in fc["times_h"]  # the planned change is a forecast time
    for name in ("systolic", "diastolic", "map"):
        assert all(lo < v < hi for lo, v, hi in
                   zip(fc[f"{name}_low"], fc[name], fc[f"{name}_high"], strict=True))  # fmt: skip
    assert fc["map"][-1] > fc["map"][0]  # the same resistance at a higher cardiac output
    for explained in out["explanation"]:
        total = explained["base"] + sum(v for _, v in explained["contributions"])
        assert total == pytest.approx(explained["value"], rel=1e-9)
    assert out["explanation"][0]["value"] == pytest.approx(fc["systolic"][0], rel=1e-12)
    assert len(out["influence"]) == 3 and out["influence"][0]["note"] == "refitted without it"
    r = api.client.get(f"{P}/twins/{twin}/thread", headers=api.clinician)
    assert r.status_code == 200, r.text
    records = r.json()["records"]
    assert [rec["kind"] for rec in records].count("state") == 1
    stored = next(rec for rec in records if rec["kind"] == "state")
    observed = [
        Record(o["id"], o["kind"], datetime.fromisoformat(o["at"]), o["audit_id"], o["body"])
        for o in records
        if o["kind"] in ("blood_pressure", "heart_rate")
    ]
    assert replay(observed, stored["body"]["observation_ids"], "windkessel") == stored["body"]


def test_without_a_blood_pressure_the_calibration_is_422_naming_it(api: Any, twin: str) -> None:
    add(api, [hr("hr1", "2026-03-01T08:00:00Z", 64)])
    r = calibrate(api, twin)
    assert r.status_code == 422 and r.json()["field"] == "blood_pressure", r.text
    assert r.json()["audit_id"]


def test_a_reading_without_a_heart_rate_in_force_is_422_naming_it(api: Any, twin: str) -> None:
    add(api, [bp("bp1", "2026-03-01T08:00:00Z", 128, 84),
              hr("hr1", "2026-03-01T08:05:00Z", 64)])  # fmt: skip
    r = calibrate(api, twin)
    assert r.status_code == 422 and r.json()["field"] == "heart_rate", r.text
    assert "2026-03-01T08:00:00" in r.json()["detail"]


def test_a_diastolic_above_the_systolic_is_422_contradictory(api: Any, twin: str) -> None:
    add(api, [hr("hr1", "2026-03-01T08:00:00Z", 64), bp("bp1", "2026-03-01T08:00:00Z", 80, 95)])
    r = calibrate(api, twin)
    assert r.status_code == 422 and r.json()["field"] == "blood_pressure", r.text
    assert "contradictory" in r.json()["detail"]


def test_a_heart_rate_outside_the_model_withholds(api: Any, twin: str) -> None:
    add(api, [hr("hr1", "2026-03-01T08:00:00Z", 230), bp("bp1", "2026-03-01T08:00:00Z", 90, 60)])
    r = calibrate(api, twin)
    assert r.status_code == 403 and "withheld" in r.json()["detail"], r.text


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"dose_mg": 1000}, "dose_mg"),
        ({"horizon_h": 10_000}, "horizon_h"),
        ({"scenario": [{"kind": "heart_rate", "time": "2026-03-02T10:00:00Z", "value": 90,
                        "unit": "mmol/L"}]}, "scenario[0].unit"),
        ({"scenario": [{"kind": "heart_rate", "time": "2026-03-02T10:00:00Z", "value": 250,
                        "unit": "/min"}]}, "scenario[0].value"),
        ({"scenario": [{"kind": "weight", "time": "2026-03-02T10:00:00Z", "value": 80,
                        "unit": "kg"}]}, "scenario[0].kind"),
    ],
)  # fmt: skip
def test_bad_forecast_requests_are_422_naming_the_field(
    api: Any, twin: str, request_: dict[str, Any], field: str
) -> None:
    add(api, VITALS)
    assert calibrate(api, twin).status_code == 201
    r = forecast(api, twin, **request_)
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_a_forecast_before_any_heart_rate_is_422_naming_it(api: Any, twin: str) -> None:
    add(api, VITALS)
    assert calibrate(api, twin).status_code == 201
    r = forecast(api, twin, start="2026-02-28T09:00:00Z")
    assert r.status_code == 422 and r.json()["field"] == "heart_rate", r.text


def test_a_windkessel_twin_recommends_nothing(api: Any, twin: str) -> None:
    add(api, VITALS)
    assert calibrate(api, twin).status_code == 201
    r = api.client.post(f"{P}/twins/{twin}/recommendations", json={}, headers=api.clinician)
    assert r.status_code == 422 and r.json()["field"] == "model", r.text
