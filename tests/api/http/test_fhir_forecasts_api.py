"""The forecasts of the glucose, Windkessel and radiotherapy twins as FHIR Observations
through the real app: each validates (R4B), says the forecast's values and 90 % intervals
as stored, the model version and audit record, the explanation only with the value it adds
up to, and its LOINC code is one the kind table lists for that quantity."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from api.fhir.forecasts import LOINC_CODES
from tests.api.helpers import prepare_patient
from tests.api.http import test_twin_radiotherapy_api as radio
from tests.api.http import test_twin_windkessel_api as wk
from tests.api.twin_course import audit_body
from tests.api.twin_glucose_record import P, add, at, new_glucose_twin, record

EXT = "urn:twinreg:fhir:"


def observations(api: Any, twin: str) -> tuple[dict[str, dict[str, Any]], str]:
    """The twin's forecast Observations by their id's part after the record id."""
    r = api.client.get("/fhir/Observation", params={"patient": "p-1", "twin": twin},
                       headers=api.clinician)  # fmt: skip
    assert r.status_code == 200, r.text
    found = Bundle.model_validate(r.json())
    out = {}
    for entry in found.entry or []:
        resource = entry.resource.model_dump(mode="json", exclude_none=True, by_alias=True)
        Observation.model_validate(resource)
        out[resource["identifier"][0]["value"].split("/", 1)[1]] = resource
    return out, found.meta.tag[0].code


def new_twin(api: Any, model: str, categories: list[str]) -> str:
    prepare_patient(api, "p-1", categories)
    r = api.client.post(P + "/twins", json={"model": model, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    twin_id: str = r.json()["twin_id"]
    return twin_id


def ext(resource: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e["url"] == EXT + name]


def said_contributions(resource: dict[str, Any]) -> dict[str, float]:
    return {c["extension"][0]["valueString"]: c["extension"][1]["valueDecimal"]
            for c in ext(resource, "contribution")}  # fmt: skip


def bounds(resource: dict[str, Any], key: str = "valueQuantity") -> list[Any]:
    parts = resource["component"]
    assert [c["code"]["coding"][0]["code"] for c in parts] == ["low-90", "high-90"]
    return [c[key] for c in parts]


def test_a_glucose_forecast_is_its_mean_time_in_range_and_curves(api: Any) -> None:
    twin = new_glucose_twin(api)
    add(api, record(n_days=2))
    assert api.client.post(f"{P}/twins/{twin}/calibrations", headers=api.clinician).is_success
    r = api.client.post(f"{P}/twins/{twin}/forecasts", headers=api.clinician,
                        json={"start": at(2 * 1440), "horizon_h": 6})  # fmt: skip
    assert r.status_code == 201, r.text
    stored, f = r.json(), r.json()["body"]["forecast"]
    found, read = observations(api, twin)
    assert sorted(found) == ["cgm", "mean", "plasma", "time-in-range"]
    mean = found["mean"]
    assert mean["valueQuantity"]["value"] == pytest.approx(f["mean_glucose"], abs=1e-6)
    low, high = bounds(mean)
    assert (low["value"], high["value"]) == pytest.approx(
        (f["mean_glucose_low"], f["mean_glucose_high"]), abs=1e-6)  # fmt: skip
    explained = stored["body"]["explanation"]
    assert said_contributions(mean) == pytest.approx(dict(explained["contributions"]), abs=1e-6)
    assert found["time-in-range"]["valueQuantity"]["code"] == "%"
    plasma = found["plasma"]
    assert plasma["code"]["coding"][0] == {"system": "http://loinc.org", "code": "2339-0"}
    assert plasma["valueSampledData"]["period"] == pytest.approx(5 * 60_000)
    values = [float(v) for v in plasma["valueSampledData"]["data"].split(" ")]
    assert values == pytest.approx(f["plasma"], abs=1e-6) and len(values) == 73
    cgm_low, _ = bounds(found["cgm"], "valueSampledData")
    assert [float(v) for v in cgm_low["data"].split(" ")] == pytest.approx(f["cgm_low"], abs=1e-6)
    assert not ext(plasma, "contribution")
    for resource in found.values():
        assert ext(resource, "audit-record")[0]["valueString"] == stored["audit_id"]
        assert ext(resource, "model-version")[0]["valueString"].startswith("glucose-t1d-tir|")
    assert audit_body(api, read)["action"] == "twin.thread.read"


def test_a_windkessel_forecast_is_each_pressure_at_start_and_horizon(api: Any) -> None:
    twin = new_twin(api, wk.MODEL, ["vitals", "imaging"])
    assert wk.add(api, wk.VITALS).status_code == 201
    assert wk.calibrate(api, twin).status_code == 201
    planned = [{"kind": "heart_rate", "time": "2026-03-02T11:30:00Z", "value": 95, "unit": "/min"}]
    r = wk.forecast(api, twin, scenario=planned)
    assert r.status_code == 201, r.text
    body = r.json()["body"]
    f, explained = body["forecast"], {e["output"]: e for e in body["explanation"]}
    found, _ = observations(api, twin)
    for key, name, code in (("systolic", "systolic", "8480-6"), ("diastolic", "diastolic",
                            "8462-4"), ("map", "mean-arterial-pressure", None)):  # fmt: skip
        start, horizon = found[f"{name}-start"], found[f"{name}-horizon"]
        assert start["effectiveDateTime"].startswith("2026-03-02T09:00:00")
        assert horizon["effectiveDateTime"].startswith("2026-03-02T15:00:00")
        assert start["valueQuantity"]["value"] == pytest.approx(f[key][0], abs=1e-6)
        assert horizon["valueQuantity"]["value"] == pytest.approx(f[key][-1], abs=1e-6)
        low, high = bounds(horizon)
        assert (low["value"], high["value"]) == pytest.approx(
            (f[f"{key}_low"][-1], f[f"{key}_high"][-1]), abs=1e-6)  # fmt: skip
        said = said_contributions(start)
        assert said == pytest.approx(dict(explained[key]["contributions"]), abs=1e-6)
        assert explained[key]["base"] + sum(said.values()) == pytest.approx(f[key][0], abs=1e-5)
        # at 95 bpm the value is not the one explained (the start's heart rate): none said
        assert f[key][-1] != pytest.approx(f[key][0]) and not ext(horizon, "contribution")
        coding = start["code"]["coding"][0]
        assert coding["code"] == (code or "mean-arterial-pressure")


def test_a_radiotherapy_forecast_is_the_volume_at_the_horizon(api: Any) -> None:
    twin = new_twin(api, radio.MODEL, radio.CATEGORIES)
    radio.add(api, radio.FRACTIONS + radio.VOLUMES)
    assert radio.calibrate(api, twin).status_code == 201
    r = radio.forecast(api, twin, radio.FORECAST)
    assert r.status_code == 201, r.text
    body = r.json()["body"]
    f = body["forecast"]
    found, _ = observations(api, twin)
    assert list(found) == ["volume-at-horizon"]
    volume = found["volume-at-horizon"]
    assert volume["code"]["coding"][0] == {"system": "urn:twinreg:observation-code",
                                           "code": "tumour-volume"}  # fmt: skip
    assert volume["valueQuantity"] == {"value": pytest.approx(f["volume_at_horizon"], abs=1e-6),
                                       "unit": "cm3", "system": "http://unitsofmeasure.org",
                                       "code": "cm3"}  # fmt: skip
    low, high = bounds(volume)
    assert low["value"] < volume["valueQuantity"]["value"] < high["value"]
    assert volume["effectiveDateTime"].startswith("2026-04-20T08:30:00")  # start + 21 days
    expected = dict(body["explanation"]["contributions"])
    assert said_contributions(volume) == pytest.approx(expected, abs=1e-6)


def test_every_loinc_code_is_one_the_kind_table_lists(api: Any) -> None:
    kinds = api.service.policies.current().observation_kinds
    for name, (kind, code) in LOINC_CODES.items():
        assert code in kinds[kind].codes, (name, kind, code)
