"""The FHIR read routes through the real app: a twin fed by a transaction Bundle, its
forecast as an Observation, its recommendation as a MedicationRequest (proposal), its
states as Provenance, and the audit log as AuditEvents; each resource validates (R4B)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.provenance import Provenance

from tests.api.fhir_bundles import FHIR_JSON, bundle, consent, course, patient
from tests.api.twin_course import VANCO, audit_body

P = "/v1/patients/p-1"
EXT = "urn:twinreg:fhir:"


@pytest.fixture()
def twin(api: Any) -> dict[str, Any]:
    """A vancomycin twin fed over FHIR, calibrated, forecast and dosed through /v1."""
    r = api.client.post("/fhir", json=bundle(patient(), consent(), *course()),
                        headers={**api.clinician, **FHIR_JSON})  # fmt: skip
    assert r.status_code == 200, r.text
    r = api.client.post(P + "/twins", json={"model": VANCO, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    twin_id = r.json()["twin_id"]
    state = api.client.post(f"{P}/twins/{twin_id}/calibrations", headers=api.clinician).json()
    regimen = {"dose_mg": 1250, "interval_h": 12, "n_doses": 4, "start": "2026-03-03T08:00:00Z"}
    forecast = api.client.post(f"{P}/twins/{twin_id}/forecasts", json=regimen,
                               headers=api.clinician).json()  # fmt: skip
    dosed = api.client.post(f"{P}/twins/{twin_id}/recommendations", json={},
                            headers=api.clinician).json()  # fmt: skip
    return {"id": twin_id, "model_version": r.json()["model_version"], "state": state,
            "forecast": forecast, "recommendation": dosed}  # fmt: skip


def search(api: Any, resource: str, twin_id: str) -> tuple[list[dict[str, Any]], str]:
    r = api.client.get(f"/fhir/{resource}", params={"patient": "p-1", "twin": twin_id},
                       headers=api.clinician)  # fmt: skip
    assert r.status_code == 200, r.text
    found = Bundle.model_validate(r.json())
    assert found.type == "searchset"
    audit_id = found.meta.tag[0].code
    return [e.resource.model_dump(mode="json", exclude_none=True) for e in found.entry], audit_id


def ext(resource: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e["url"] == EXT + name]


def test_a_forecast_is_an_observation_with_its_interval_and_explanation(
    api: Any, twin: dict[str, Any]
) -> None:
    found, audit_id = search(api, "Observation", twin["id"])
    by_code = {o["code"]["coding"][0]["code"]: o for o in found}
    assert sorted(by_code) == ["4092-3", "vancomycin-auc24"]
    obs = by_code["vancomycin-auc24"]
    Observation.model_validate(obs)
    body = twin["forecast"]["body"]
    assert obs["valueQuantity"]["value"] == pytest.approx(body["forecast"]["auc24"])
    low, high = (c["valueQuantity"]["value"] for c in obs["component"])
    assert (low, high) == pytest.approx((body["forecast"]["auc24_low"],
                                         body["forecast"]["auc24_high"]))  # fmt: skip
    assert ext(obs, "model-version")[0]["valueString"] == f"{VANCO}|{twin['model_version']}"
    assert ext(obs, "audit-record")[0]["valueString"] == twin["forecast"]["audit_id"]
    top = sorted(body["explanation"]["contributions"], key=lambda c: -abs(c[1]))[:5]
    said = [(c["extension"][0]["valueString"], c["extension"][1]["valueDecimal"])
            for c in ext(obs, "contribution")]  # fmt: skip
    assert [n for n, _ in said] == [n for n, _ in top]
    assert [v for _, v in said] == pytest.approx([v for _, v in top], abs=1e-6)
    assert audit_body(api, audit_id)["action"] == "twin.thread.read"
    curve = by_code["4092-3"]  # the concentration curve, hourly
    assert curve["valueSampledData"]["period"] == 3_600_000
    data = [float(v) for v in curve["valueSampledData"]["data"].split(" ")]
    assert data == pytest.approx(body["forecast"]["concentration"], abs=1e-6)
    low, high = (c["valueSampledData"]["data"].split(" ") for c in curve["component"])
    assert [float(v) for v in high] == pytest.approx(body["forecast"]["concentration_high"],
                                                     abs=1e-6)  # fmt: skip
    assert [c["code"]["coding"][0]["code"] for c in curve["component"]] == ["low-90", "high-90"]
    assert not ext(curve, "contribution")  # the explanation is the AUC's


def test_a_recommendation_is_a_proposed_medication_request(api: Any, twin: dict[str, Any]) -> None:
    (request,), _ = search(api, "MedicationRequest", twin["id"])
    MedicationRequest.model_validate(request)
    top = twin["recommendation"]["body"]["recommendation"]["regimens"][0]
    assert request["intent"] == "proposal"
    dose = request["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert dose["value"] == top["dose_mg"] and dose["code"] == "mg"
    assert request["dosageInstruction"][0]["timing"]["repeat"]["period"] == top["interval_h"]
    interval = ext(request, "prediction-interval-90")[0]["extension"]
    assert [e["valueQuantity"]["value"] for e in interval] == pytest.approx(
        [top["auc24"], top["auc24_low"], top["auc24_high"]]
    )
    attained = ext(request, "probability-of-target-attainment")[0]["valueDecimal"]
    assert attained == pytest.approx(top["probability"])


def test_each_state_has_its_provenance(api: Any, twin: dict[str, Any]) -> None:
    (provenance,), _ = search(api, "Provenance", twin["id"])
    Provenance.model_validate(provenance)
    used = [e["what"]["identifier"]["value"] for e in provenance["entity"]]
    assert used == twin["state"]["body"]["observation_ids"] and len(used) == 10
    assert provenance["target"][0]["identifier"]["value"] == twin["state"]["id"]
    assert ext(provenance, "model-version")[0]["valueString"].endswith(twin["model_version"])


def test_another_sites_clinician_reads_nothing(api: Any, twin: dict[str, Any]) -> None:
    other = api.headers("carl", "clinician", "st-elsewhere")
    r = api.client.get("/fhir/Provenance", params={"patient": "p-1", "twin": twin["id"]},
                       headers=other)  # fmt: skip
    assert r.status_code == 404, r.text
    assert r.json()["resourceType"] == "OperationOutcome"


def test_audit_events_by_date_for_the_ethics_board(api: Any, twin: dict[str, Any]) -> None:
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = api.client.get("/fhir/AuditEvent", params={"date": f"ge{since}", "_count": 1000},
                       headers=api.ethics)  # fmt: skip
    assert r.status_code == 200, r.text
    events = [e["resource"] for e in r.json()["entry"]]
    for event in events:
        AuditEvent.model_validate(event)
    actions = {e["type"]["code"] for e in events}
    assert {"observation.ingest", "consent.grant", "twin.forecast"} <= actions
    assert "p-1" not in r.text  # patients by keyed hash only
    keyed = [i["what"]["identifier"]["value"] for e in events for i in e["entity"]
             if i["what"]["identifier"]["system"] == "urn:twinreg:patient-key"]  # fmt: skip
    assert keyed and all(len(k) == 64 for k in keyed)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = api.client.get("/fhir/AuditEvent", params={"date": f"ge{later}"}, headers=api.ethics)
    assert r.status_code == 200 and r.json()["total"] == 0
    r = api.client.get("/fhir/AuditEvent", params={"date": "2026"}, headers=api.ethics)
    assert r.status_code == 422 and r.json()["issue"][0]["expression"] == ["date"]
    r = api.client.get("/fhir/AuditEvent", params={"date": f"ge{since}"}, headers=api.clinician)
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
