"""FHIR resources for the tests: a vancomycin course as a transaction Bundle."""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PURPOSE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CATEGORY = "urn:twinreg:data-category"
PATIENT_SYSTEM = "urn:twinreg:patient-id"
PATIENT_URL = "urn:uuid:0b7d6a52-4c0e-4a8e-9c41-5b7e3c9d1f01"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def entry(resource: dict[str, Any], url: str | None = None) -> dict[str, Any]:
    out = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    if url:
        out["fullUrl"] = url
    return out


def bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def patient(patient_id: str = "p-1", site: str = "st-mary") -> dict[str, Any]:
    return entry(
        {
            "resourceType": "Patient",
            "identifier": [{"system": PATIENT_SYSTEM, "value": patient_id}],
            "managingOrganization": {"identifier": {"system": "urn:twinreg:site", "value": site}},
        },
        PATIENT_URL,
    )


def consent(
    purposes: tuple[str, ...] = ("TREAT",),
    labels: tuple[str, ...] | None = ("demographics", "labs", "medication", "history"),
    **provision: Any,
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "permit",
        "purpose": [{"system": PURPOSE, "code": p} for p in purposes],
        **provision,
    }
    if labels is not None:
        base["securityLabel"] = [{"system": CATEGORY, "code": c} for c in labels]
    return entry(
        {
            "resourceType": "Consent",
            "status": "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [{"coding": [{"system": LOINC, "code": "59284-0"}]}],
            "patient": {"reference": PATIENT_URL},
            "provision": base,
        }
    )


def observation(
    ident: str, code: str, time: str, value: Any = None, unit: str | None = None, **extra: Any
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:ward", "value": ident}],
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": PATIENT_URL},
        "effectiveDateTime": time,
        **extra,
    }
    if unit is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    elif value is not None:
        resource["valueCodeableConcept"] = {
            "coding": [{"system": "http://hl7.org/fhir/administrative-gender", "code": value}]
        }
    return entry(resource)


def dose(ident: str, start: str, end: str, mg: float = 1000) -> dict[str, Any]:
    return entry(
        {
            "resourceType": "MedicationAdministration",
            "identifier": [{"system": "urn:ward", "value": ident}],
            "status": "completed",
            "medicationCodeableConcept": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "11124"}
                ]
            },
            "subject": {"reference": PATIENT_URL},
            "effectivePeriod": {"start": start, "end": end},
            "dosage": {"dose": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}},
        }
    )


def course() -> list[dict[str, Any]]:
    """The vancomycin course of tests/api/twin_course.py, as FHIR."""
    doses = []
    for i in range(4):
        day, hour = 1 + i // 2, 8 + 12 * (i % 2)
        start = f"2026-03-0{day}T{hour:02d}:00:00Z"
        doses.append(dose(f"d{i}", start, f"2026-03-0{day}T{hour + 1:02d}:00:00Z"))
    return [
        observation("age", "30525-0", "2026-03-01T06:00:00Z", 55, "a"),
        observation("sex", "46098-0", "2026-03-01T06:00:00Z", "male"),
        observation("wt", "29463-7", "2026-03-01T06:00:00Z", 80, "kg"),
        observation("scr", "2160-0", "2026-03-01T06:30:00Z", 88.4, "umol/L"),
        *doses,
        observation("l1", "4090-7", "2026-03-02T10:00:00Z", 28.0, "mg/L"),
        observation("l2", "4092-3", "2026-03-02T19:30:00Z", 12.0, "mg/L"),
    ]


def risk_parameters(
    model: str,
    features: dict[str, float],
    patient: str = "p-1",
    purpose: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The Parameters of ``POST /fhir/RiskAssessment/$predict`` (``extra``: more
    parameters by name, e.g. ``version={"valueString": "1"}``)."""
    said: list[dict[str, Any]] = [
        {"name": "model", "valueString": model},
        {"name": "purpose", **(purpose or {"valueCode": "treatment"})},
        {"name": "patient", "valueIdentifier": {"system": "urn:twinreg:patient-id",
                                                "value": patient}},
    ]  # fmt: skip
    said += [{"name": k, **v} for k, v in extra.items()]
    said += [{"name": "feature", "part": [{"name": "name", "valueString": n},
                                          {"name": "value", "valueDecimal": v}]}
             for n, v in features.items()]  # fmt: skip
    return {"resourceType": "Parameters", "parameter": said}
