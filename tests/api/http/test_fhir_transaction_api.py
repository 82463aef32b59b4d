"""POST /fhir through the real app: a transaction Bundle of Patient, Consent, doses and
observations lets a vancomycin twin calibrate through /v1; each refusal is an
OperationOutcome naming the element, audited, and stores nothing of the Bundle."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import text

from tests.api.fhir_bundles import FHIR_JSON, bundle, consent, course, observation, patient
from tests.api.twin_course import VANCO, audit_body

P = "/v1/patients/p-1"


def post(api: Any, body: Any, **params: str) -> Any:
    return api.client.post("/fhir", json=body, headers={**api.clinician, **FHIR_JSON},
                           params=params or None)  # fmt: skip


def counts(api: Any) -> dict[str, int]:
    with api.service.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("patient", "consent", "twin_observation")}  # fmt: skip


def refused(response: Any, status: int, expression: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue[0].expression == [expression], outcome.issue[0]
    body: dict[str, Any] = response.json()
    return body


def test_a_course_as_a_bundle_calibrates_a_twin(api: Any) -> None:
    r = post(api, bundle(patient(), consent(), *course()))
    assert r.status_code == 200, r.text
    answer = Bundle.model_validate(r.json())
    assert answer.type == "transaction-response"
    statuses = [e.response.status for e in answer.entry]
    assert statuses == ["201 Created"] * (2 + len(course()))
    assert answer.entry[0].response.location == "Patient/p-1"
    r = api.client.post(P + "/twins", json={"model": VANCO, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    twin = r.json()["twin_id"]
    r = api.client.post(f"{P}/twins/{twin}/calibrations", headers=api.clinician)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "converged"
    assert len(r.json()["body"]["observation_ids"]) == 10
    # the same Bundle again changes nothing: idempotent per identifier
    again = post(api, bundle(patient(), *course()))
    assert again.status_code == 200, again.text
    assert {e["response"]["status"] for e in again.json()["entry"]} == {"200 OK"}


@pytest.mark.parametrize(
    "bad,status,expression",
    [
        (observation("x", "2160-0", "2026-03-01T06:30:00Z", "abc", "mg/dL"), 400,
         "Bundle.entry[2].resource.valueQuantity.value"),
        (observation("x", "9999-9", "2026-03-01T06:30:00Z", 1.0, "mg/dL"), 422,
         "Bundle.entry[2].resource.code"),
        (observation("x", "2160-0", "2026-03-01T06:30:00Z", 1.0, "kg"), 422,
         "Bundle.entry[2].resource.valueQuantity.code"),
        (observation("x", "2160-0", "2026-03-01T06:30:00Z", 900.0, "mg/dL"), 422,
         "Bundle.entry[2].resource.valueQuantity.value"),
    ],
)  # fmt: skip
def test_one_bad_entry_stores_nothing(api: Any, bad: Any, status: int, expression: str) -> None:
    before = counts(api)
    r = post(api, bundle(patient(), consent(), bad, *course()))
    body = refused(r, status, expression)
    assert counts(api) == before
    audit_id = body["extension"][0]["valueString"]
    record = audit_body(api, audit_id)
    assert record["action"] == "request.refused" and record["status"] == status


def genotype() -> dict[str, Any]:
    return observation("g1", "46724-1", "2026-03-01T06:00:00Z", "*1/*1")


def test_genomic_is_not_granted_by_an_unrestricted_consent(api: Any) -> None:
    before = counts(api)
    r = post(api, bundle(patient(), consent(labels=None), genotype()))
    assert r.status_code == 403, r.text
    assert "genomic" in r.json()["issue"][0]["diagnostics"]
    assert counts(api) == before
    record = audit_body(api, r.json()["extension"][0]["valueString"])
    assert record["action"] == "observation.withheld" and record["missing"] == ["genomic"]
    labelled = consent(labels=None)
    labelled["resource"]["provision"]["securityLabel"] = [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "GDIS"}
    ]
    r = post(api, bundle(patient(), labelled, genotype()))
    assert r.status_code == 200, r.text
    assert counts(api)["twin_observation"] == before["twin_observation"] + 1


def test_an_unsupported_nested_provision_stores_nothing(api: Any) -> None:
    before = counts(api)
    nested = consent(provision=[{"type": "deny", "period": {"start": "2026-01-01"}}])
    r = post(api, bundle(patient(), nested, *course()))
    refused(r, 422, "Bundle.entry[1].resource.provision.provision[0].period")
    assert counts(api) == before


def test_a_patient_of_another_site_is_refused_before_anything_is_stored(api: Any) -> None:
    before = counts(api)
    r = post(api, bundle(patient(site="elsewhere"), consent(), *course()))
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert counts(api) == before
    record = audit_body(api, r.json()["extension"][0]["valueString"])
    assert record["action"] == "request.refused" and record["status"] == 403


def test_observations_without_any_consent_store_nothing(api: Any) -> None:
    before = counts(api)
    r = post(api, bundle(patient(), *course()), purpose="TREAT")
    assert r.status_code == 403, r.text
    assert counts(api) == before
    r = post(api, bundle(patient(), *course()))
    refused(r, 422, "purpose")
    assert counts(api) == before


def test_a_role_that_writes_nothing_is_refused_before_its_body_is_read(api: Any) -> None:
    r = api.client.post("/fhir", content=b"not json", headers={**api.validator, **FHIR_JSON})
    assert r.status_code == 403, r.text
    r = api.client.post("/fhir", content=b"not json", headers={**api.clinician, **FHIR_JSON})
    refused(r, 400, "Bundle")


def stored(api: Any) -> dict[str, int]:
    """What a Bundle can store: patients, consents, observations, patient keys, audit."""
    with api.service.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("patient", "consent", "twin_observation", "patient_data_key",
                          "audit_record")}  # fmt: skip


def second_patient() -> list[dict[str, Any]]:
    """Patient p-2 (registered now), its Consent and one observation of its own."""
    url = "urn:uuid:6f1c2b8e-2f44-4c7b-a3a5-0d8e1f2a9c02"
    new, granted = patient("p-2"), consent()
    new["fullUrl"] = url
    granted["resource"]["patient"] = {"reference": url}
    weight = observation("wt2", "29463-7", "2026-03-01T06:00:00Z", 70, "kg")
    weight["resource"]["subject"] = {"reference": url}
    return [new, granted, weight]


def test_a_bundle_whose_last_write_fails_stores_nothing_of_it(api: Any) -> None:
    """All or nothing over the writes too: p-2 registered, its consent granted and its
    observation ingested, then p-1's creatinine conflicts with the one stored (same
    identifier, other value) -> 409, and the database holds nothing of the Bundle: no
    patient, consent, observation or key of p-2, no audit record of those writes; one
    refusal record."""
    assert post(api, bundle(patient(), consent(), *course())).status_code == 200
    before = stored(api)
    other = observation("scr", "2160-0", "2026-03-01T06:30:00Z", 99.0, "umol/L")
    other["resource"]["subject"] = {"identifier": {"system": "urn:twinreg:patient-id",
                                                   "value": "p-1"}}  # fmt: skip
    r = post(api, bundle(*second_patient(), other), purpose="TREAT")
    assert r.status_code == 409, r.text
    assert "already stored with other content" in r.json()["issue"][0]["diagnostics"]
    assert stored(api) == {**before, "audit_record": before["audit_record"] + 1}
    record = audit_body(api, r.json()["extension"][0]["valueString"])
    assert record["action"] == "request.refused" and record["status"] == 409
    # the same Bundle without the conflict stores all of it
    r = post(api, bundle(*second_patient()), purpose="TREAT")
    assert r.status_code == 200, r.text
    after = stored(api)
    assert (after["patient"], after["consent"], after["twin_observation"]) == (
        before["patient"] + 1,
        before["consent"] + 1,
        before["twin_observation"] + 1,
    )
