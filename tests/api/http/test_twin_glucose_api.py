"""A glucose (type 1 diabetes) patient twin through the real app: created, fed with CGM
(some in mmol/L), meals, insulin and a finger-stick, calibrated, forecast with a planned
scenario, its thread replayed; and each refusal specific to glucose."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from api.composition.twins import replay
from governance.twins.views import Record
from tests.api.helpers import prepare_patient
from tests.api.http.test_twins_api import audit_actions
from tests.api.twin_glucose_record import P, add, at, new_glucose_twin, record

DAY = 1440.0


def calibrate(api: Any, twin: str) -> Any:
    return api.client.post(f"{P}/twins/{twin}/calibrations", headers=api.clinician)


def forecast(api: Any, twin: str, **request: Any) -> Any:
    return api.client.post(f"{P}/twins/{twin}/forecasts", headers=api.clinician, json=request)


def stick(ident: str, minutes: float, value: float) -> dict[str, Any]:
    return {"id": ident, "source": "ward", "kind": "glucose_fingerstick", "time": at(minutes),
            "value": value, "unit": "mg/dL", "code": "41653-7"}  # fmt: skip


def meal_plan(minutes: float, grams: float, units: float) -> list[dict[str, Any]]:
    parts = {"carbs": {"value": grams, "unit": "g"}, "start": at(minutes)}
    return [
        {"kind": "meal", "time": at(minutes), "components": parts},
        {"kind": "insulin_bolus", "time": at(minutes), "value": units, "unit": "[IU]"},
    ]


def _thread_records(api: Any, twin: str) -> list[dict[str, Any]]:
    r = api.client.get(f"{P}/twins/{twin}/thread", headers=api.clinician)
    assert r.status_code == 200, r.text
    records: list[dict[str, Any]] = r.json()["records"]
    return records


def test_the_glucose_twin_end_to_end_with_its_thread(api: Any) -> None:
    twin = new_glucose_twin(api)
    observations = [*record(n_days=2), stick("fs-1", 1.5 * DAY, 142.0)]
    stored = add(api, observations)
    assert len(stored) == len(observations)
    r = calibrate(api, twin)
    assert r.status_code == 201, r.text
    state = r.json()
    body = state["body"]
    assert state["status"] == "converged" and body["prior_version"].startswith("simglucose")
    assert set(body) == {"status", "message", "prior_version", "objective", "iterations",
                         "observation_ids", "posterior"}  # fmt: skip
    assert [n for n, _ in body["posterior"]["parameters"]] == ["Vmx", "kp3", "kabs"]
    assert sorted(body["observation_ids"]) == sorted(stored)  # the finger-stick too
    plan = meal_plan(2 * DAY + 8 * 60, 60.0, 6.0)
    r = forecast(api, twin, start=at(2 * DAY), horizon_h=12, scenario=plan)
    assert r.status_code == 201, r.text
    out = r.json()["body"]
    f = out["forecast"]
    assert len(f["times_h"]) == 12 * 12 + 1 and f["times_h"][-1] == 12.0
    for name in ("plasma", "cgm"):
        low, mid, high = f[f"{name}_low"], f[name], f[f"{name}_high"]
        assert all(a <= b <= c for a, b, c in zip(low, mid, high, strict=True)), name
    assert f["time_in_range_low"] <= f["time_in_range"] <= f["time_in_range_high"]
    assert f["mean_glucose_low"] <= f["mean_glucose"] <= f["mean_glucose_high"]
    assert "Ornstein-Uhlenbeck" in f["method"] and "ISO 15197" in f["method"]
    for explained in (out["explanation"], out["explanation_time_in_range"]):
        total = explained["base"] + sum(v for _, v in explained["contributions"])
        assert total == pytest.approx(explained["value"], rel=1e-9, abs=1e-9)
    assert out["explanation"]["value"] == pytest.approx(f["mean_glucose"], rel=1e-12)
    days = [d["day"] for d in out["influence"]]
    assert {0, 1} <= set(days) and out["influence"][0]["distance"] is not None
    records = _thread_records(api, twin)
    kinds = [rec["kind"] for rec in records]
    assert kinds.count("state") == 1 and kinds[-1] == "forecast"
    observed = [
        Record(o["id"], o["kind"], datetime.fromisoformat(o["at"]), o["audit_id"], o["body"])
        for o in records
        if o["kind"] not in ("state", "forecast")
    ]
    stored_state = next(rec for rec in records if rec["kind"] == "state")
    ids = stored_state["body"]["observation_ids"]
    assert replay(observed, ids, "glucose_t1d") == stored_state["body"]
    actions = [a for a in audit_actions(api) if a.startswith(("twin.", "observation."))]
    assert actions[0] == "twin.create" and actions[-3:] == [
        "twin.calibration", "twin.forecast", "twin.thread.read"]  # fmt: skip


def test_cgm_in_mmol_per_litre_is_stored_in_mg_per_decilitre(api: Any) -> None:
    new_glucose_twin(api)
    sent = record(n_days=1)[:60]
    add(api, sent)
    key = api.service.twins.patient(_clinician(api), "p-1", "read", None)
    stored = {o.body["id"]: o.body for o in api.service.twins.bank.observations(key)}
    mmol = [o for o in sent if o.get("unit") == "mmol/L"]
    assert mmol
    for o in mmol:
        assert stored[o["id"]]["unit"] == "mg/dL"
        assert stored[o["id"]]["value"] == pytest.approx(o["value"] * 18.016, rel=1e-12)


def _clinician(api: Any) -> Any:
    from api.cli.demo import CLINICIAN

    return CLINICIAN


def test_a_planned_meal_raises_the_forecast_and_a_fingerstick_moves_the_fit(api: Any) -> None:
    twin = new_glucose_twin(api)
    add(api, record(n_days=1))
    first = calibrate(api, twin).json()["body"]["posterior"]["eta"]
    fasting = forecast(api, twin, start=at(DAY), horizon_h=6)
    fed = forecast(api, twin, start=at(DAY), horizon_h=6, scenario=meal_plan(DAY + 60, 80, 2))
    assert fasting.status_code == fed.status_code == 201, fed.text
    assert (fed.json()["body"]["forecast"]["mean_glucose"]
            > fasting.json()["body"]["forecast"]["mean_glucose"] + 10.0)  # fmt: skip
    add(api, [stick("fs-high", 0.6 * DAY, 260.0)])
    second = calibrate(api, twin).json()["body"]["posterior"]["eta"]
    assert max(abs(a - b) for a, b in zip(first, second, strict=True)) > 1e-3


def _first(kind: str, observations: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in observations if o["kind"] == kind)


def _without(kind: str, observations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in observations if o["kind"] != kind]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda obs: _without("insulin_basal", obs), "insulin_basal", "in force at the record"),
        (lambda obs: _without("glucose_cgm", obs), "glucose_cgm", "no CGM reading"),
        (lambda obs: [o for o in obs if o["kind"] != "glucose_cgm" or o["id"] < "cgm-0020"],
         "glucose_cgm", "at least 36 CGM readings"),
        (lambda obs: _without("weight", obs), "weight", "no body weight"),
        (lambda obs: [*obs, {**_first("insulin_basal", obs), "id": "basal-again"}],
         "insulin_basal", "overlap"),
    ],
)  # fmt: skip
def test_insufficient_or_contradictory_glucose_data_is_422_naming_the_kind(
    api: Any, change: Any, field: str, words: str
) -> None:
    twin = new_glucose_twin(api)
    add(api, change(record(n_days=1)))
    r = calibrate(api, twin)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and words in r.json()["detail"], r.json()
    assert r.json()["audit_id"]


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"scenario": [{"kind": "glucose_cgm", "time": at(DAY), "value": 100, "unit": "mg/dL"}]},
         "scenario[0].kind"),
        ({"scenario": [{"kind": "insulin_bolus", "time": at(DAY), "value": 3, "unit": "mg"}]},
         "scenario[0].unit"),
        ({"scenario": meal_plan(DAY - 60, 50, 5)}, "scenario[0].components.start"),
        ({"dose_mg": 1000}, "dose_mg"),
        ({"horizon_h": 200}, "horizon_h"),
        ({"start": at(-60)}, "forecast.start"),
    ],
)  # fmt: skip
def test_a_bad_glucose_forecast_request_is_422_naming_the_field(
    api: Any, request_body: dict[str, Any], field: str
) -> None:
    twin = new_glucose_twin(api)
    add(api, record(n_days=1))
    assert calibrate(api, twin).status_code == 201
    r = forecast(api, twin, **{"start": at(DAY), "horizon_h": 6, **request_body})
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_the_glucose_twin_recommends_nothing(api: Any) -> None:
    twin = new_glucose_twin(api)
    r = api.client.post(f"{P}/twins/{twin}/recommendations", headers=api.clinician, json={})
    assert r.status_code == 422 and r.json()["field"] == "model", r.text


def test_cgm_without_consent_for_labs_stores_nothing(api: Any) -> None:
    """A consent for research without ``labs``: CGM sent for research is refused whole."""
    new_glucose_twin(api)
    prepare_patient(api, "p-1", ["demographics", "history", "medication"], purpose="research")
    sent = record(n_days=1)[:40]
    r = api.client.post(P + "/observations", headers=api.clinician,
                        json={"observations": sent, "purpose": "research"})  # fmt: skip
    assert r.status_code == 403 and "labs" in r.json()["detail"] and r.json()["audit_id"]
    key = api.service.twins.patient(_clinician(api), "p-1", "read", None)
    assert api.service.twins.bank.observations(key) == []
    assert "observation.withheld" in audit_actions(api)
