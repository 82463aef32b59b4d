"""A transaction Bundle mapped (api.fhir.bundle): pseudonymous patients only, references,
entry requests, and the observation schema's faults named as FHIR elements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.fhir.bundle import parse_bundle, plan_transaction
from api.fhir.errors import FhirError, InvalidResource, Unsupported
from governance.policy.store import PolicySet
from tests.api.fhir_bundles import bundle, consent, course, entry, observation, patient

POLICY = PolicySet(Path(__file__).resolve().parents[3] / "policies")


def plan(body: dict[str, Any], site: str | None = "st-mary") -> Any:
    return plan_transaction(parse_bundle(body), POLICY.fhir_terms, POLICY.observation_kinds, site)


def refused(body: dict[str, Any], kind: type[FhirError], site: str | None = "st-mary") -> str:
    with pytest.raises(kind) as caught:
        plan(body, site)
    return caught.value.expression


def test_a_course_maps_to_one_patient_with_its_consent_and_entries() -> None:
    (one,) = plan(bundle(patient(), consent(), *course())).patients
    assert (one.ref.patient_id, one.ref.site, one.registered_by) == ("p-1", "st-mary", 0)
    kinds = [e.raw["kind"] for _, e in one.observations]
    assert kinds.count("vancomycin_dose") == 4 and kinds.count("vancomycin_level") == 2
    dose = next(e.raw for _, e in one.observations if e.raw["kind"] == "vancomycin_dose")
    assert dose["components"]["duration"] == {"value": 1.0, "unit": "h"}


@pytest.mark.parametrize("element", ["name", "birthDate", "telecom"])
def test_nothing_that_identifies_a_person_is_taken(element: str) -> None:
    who = patient()
    who["resource"][element] = {
        "name": [{"family": "Doe"}],
        "birthDate": "1970-01-01",
        "telecom": [{"system": "phone", "value": "1"}],
    }[element]
    assert refused(bundle(who), Unsupported) == f"Bundle.entry[0].resource.{element}"


def test_only_the_pseudonymous_identifier_is_taken() -> None:
    who = patient()
    who["resource"]["identifier"].append({"system": "urn:hospital:mrn", "value": "12345"})
    assert refused(bundle(who), Unsupported) == "Bundle.entry[0].resource.identifier[1]"


def test_entries_must_be_posted_resources_of_the_four_types() -> None:
    other = entry({"resourceType": "Condition", "subject": {"reference": "x"}})
    assert refused(bundle(patient(), other), Unsupported) == "Bundle.entry[1].resource"
    put = patient()
    put["request"]["method"] = "PUT"
    assert refused(bundle(put), Unsupported) == "Bundle.entry[0].request"
    batch = bundle(patient())
    batch["type"] = "batch"
    assert refused(batch, Unsupported) == "Bundle.type"


def test_a_subject_must_name_a_patient_of_the_bundle_or_one_by_identifier() -> None:
    stray = observation("x", "2160-0", "2026-03-01T06:30:00Z", 1.0, "mg/dL")
    stray["resource"]["subject"] = {"reference": "urn:uuid:elsewhere"}
    assert refused(bundle(patient(), stray), Unsupported) == (
        "Bundle.entry[1].resource.subject.reference"
    )
    by_id = observation("x", "2160-0", "2026-03-01T06:30:00Z", 1.0, "mg/dL")
    by_id["resource"]["subject"] = {
        "identifier": {"system": POLICY.fhir_terms.patient_system, "value": "p-2"}
    }
    (one,) = plan(bundle(by_id)).patients
    assert one.ref.patient_id == "p-2" and one.registered_by is None
    assert refused(bundle(by_id), Unsupported, site=None) == (
        "Bundle.entry[0].resource.subject.identifier"
    )


def test_a_date_without_time_and_an_invalid_resource_are_refused_naming_them() -> None:
    dated = observation("x", "2160-0", "2026-03-01", 1.0, "mg/dL")
    assert refused(bundle(patient(), dated), Unsupported) == (
        "Bundle.entry[1].resource.effectiveDateTime"
    )
    invalid = observation("x", "2160-0", "2026-03-01T06:30:00Z", 1.0, "mg/dL")
    del invalid["resource"]["code"]
    assert refused(bundle(patient(), invalid), InvalidResource) == "Bundle.entry[1].resource.code"
