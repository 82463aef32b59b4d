"""An EHR of twinreg's own, for ``twinreg bench --suite cds`` and ``twinreg demo-clinic``:
a P-384 key made for the run, its JWK Set and issuer file (what a hospital's administrator
writes, README "CDS Hooks"), a signed JWT per call (iss, aud = the service URL, exp, iat,
jti), and the FHIR R4 resources an EHR prefetches or drafts.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from api.cli.demo import CLINICIAN, SITE

BASE = "https://twinreg.bench.invalid"
ISSUER = "https://ehr.bench.invalid"
KID = "bench-1"
USER_ID = "Practitioner/bench"
_CONDITIONS = {"cvd": "49601007", "afb": "49436004", "sho": "89138009", "chf": "42343007",
               "av3": "27885002", "miord": "399211009"}  # fmt: skip


def issuer_files(folder: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    (folder / "ehr.jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": KID}]}))
    path = folder / "cds-issuers.toml"
    path.write_text(
        f'[issuers."{ISSUER}"]\nsite = "{SITE}"\njwks = "ehr.jwks.json"\nkids = ["{KID}"]\n'
        f'[issuers."{ISSUER}".users]\n"{USER_ID}" = {{ user = "{CLINICIAN.user}", '
        'role = "clinician" }\n'
    )
    return path


def token(key: ec.EllipticCurvePrivateKey, path: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": BASE + path, "exp": now + 240, "iat": now,
              "jti": str(uuid.uuid4())}  # fmt: skip
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _observation(patient: str, oid: str, code: str, value: float | None, unit: str,
                 parts: tuple[tuple[str, float], ...] = ()) -> dict[str, Any]:  # fmt: skip
    ucum = "http://unitsofmeasure.org"
    obs: dict[str, Any] = {"resourceType": "Observation", "id": oid, "status": "final",
                           "code": _coded("http://loinc.org", code),
                           "subject": {"reference": f"Patient/{patient}"},
                           "effectiveDateTime": "2026-03-01T10:00:00Z"}  # fmt: skip
    if value is not None:
        obs["valueQuantity"] = {"value": value, "unit": unit, "system": ucum, "code": unit}
    if parts:
        obs["component"] = [{"code": _coded("http://loinc.org", c), "valueQuantity":
                             {"value": v, "unit": unit, "system": ucum, "code": unit}}
                            for c, v in parts]  # fmt: skip
    return obs


def risk_prefetch(patient: str, features: dict[str, float]) -> dict[str, Any]:
    """The FHIR resources an EHR would prefetch for a patient with these WHAS500 features."""
    today = datetime.now(UTC).date()
    resource = {"resourceType": "Patient", "id": patient,
               "birthDate": date(today.year - int(features["age"]), 1, 1).isoformat(),
               "gender": "female" if features["gender"] == 1 else "male"}  # fmt: skip
    observations = [
        _observation(patient, "hr", "8867-4", features["hr"], "/min"),
        _observation(patient, "bp", "85354-9", None, "mm[Hg]",
                     (("8480-6", features["sysbp"]), ("8462-4", features["diasbp"]))),
        _observation(patient, "bmi", "39156-5", features["bmi"], "kg/m2"),
    ]  # fmt: skip
    codes = [c for n, c in _CONDITIONS.items() if features[n] == 1]
    codes.append("304914007" if features["mitype"] == 1 else "314207007")
    conditions = [{"resourceType": "Condition", "id": f"c{i}",
                   "code": _coded("http://snomed.info/sct", c),
                   "subject": {"reference": f"Patient/{patient}"}}
                  for i, c in enumerate(codes)]  # fmt: skip

    def bundle(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset",
                "entry": [{"resource": r} for r in items]}  # fmt: skip

    return {"patient": resource, "observations": bundle(observations),
            "conditions": bundle(conditions)}  # fmt: skip


def draft_order(patient: str) -> dict[str, Any]:
    order = {"resourceType": "MedicationRequest", "id": "draft-1", "status": "draft",
             "intent": "order", "subject": {"reference": f"Patient/{patient}"},
             "medicationCodeableConcept": _coded(
                 "http://www.nlm.nih.gov/research/umls/rxnorm", "11124"),
             "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 12,
                                                          "periodUnit": "h"}},
                                    "doseAndRate": [{"doseQuantity": {
                                        "value": 1000, "unit": "mg", "code": "mg",
                                        "system": "http://unitsofmeasure.org"}}]}]}  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]}


# -- a transaction Bundle: a new patient, their consent and a vancomycin course ------------
_PATIENT_URL = "urn:uuid:6f1c2a4e-0d55-4b7e-9a61-2f9d3c8e7b10"
_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
_UCUM = "http://unitsofmeasure.org"


def _entry(resource: dict[str, Any], url: str | None = None) -> dict[str, Any]:
    out = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    return {**out, "fullUrl": url} if url else out


def _measured(ident: str, code: str, at: str, value: Any, unit: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Observation", "status": "final",
                                "identifier": [{"system": "urn:ward-7", "value": ident}],
                                "code": _coded("http://loinc.org", code),
                                "subject": {"reference": _PATIENT_URL},
                                "effectiveDateTime": at}  # fmt: skip
    if unit is None:
        resource["valueCodeableConcept"] = _coded(
            "http://hl7.org/fhir/administrative-gender", value
        )
    else:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": _UCUM, "code": unit}
    return _entry(resource)


def _dose(ident: str, start: str, end: str, mg: float) -> dict[str, Any]:
    return _entry({"resourceType": "MedicationAdministration", "status": "completed",
                   "identifier": [{"system": "urn:ward-7", "value": ident}],
                   "medicationCodeableConcept": _coded(_RXNORM, "11124"),
                   "subject": {"reference": _PATIENT_URL},
                   "effectivePeriod": {"start": start, "end": end},
                   "dosage": {"dose": {"value": mg, "unit": "mg", "system": _UCUM,
                                       "code": "mg"}}})  # fmt: skip


def course_bundle(patient: str, site: str) -> dict[str, Any]:
    """A transaction Bundle as a ward's EHR sends it: the patient (pseudonymous id, site),
    a consent for treatment covering their demographics, labs, medication and history, and
    a vancomycin course — 1 g q12h over 1 h, creatinine in umol/L, a peak and a trough."""
    consent = {"resourceType": "Consent", "status": "active",
               "scope": _coded("http://terminology.hl7.org/CodeSystem/consentscope",
                               "patient-privacy"),
               "category": [_coded("http://loinc.org", "59284-0")],
               "patient": {"reference": _PATIENT_URL},
               "provision": {"type": "permit", "purpose": [
                   {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                    "code": "TREAT"}],
                   "securityLabel": [{"system": "urn:twinreg:data-category", "code": c}
                                     for c in ("demographics", "labs", "medication",
                                               "history")]}}  # fmt: skip
    person = {"resourceType": "Patient",
              "identifier": [{"system": "urn:twinreg:patient-id", "value": patient}],
              "managingOrganization": {"identifier": {"system": "urn:twinreg:site",
                                                      "value": site}}}  # fmt: skip
    doses = [
        _dose(f"d{i}", f"2026-03-0{1 + i // 2}T{8 + 12 * (i % 2):02d}:00:00Z",
              f"2026-03-0{1 + i // 2}T{9 + 12 * (i % 2):02d}:00:00Z", 1000.0)
        for i in range(4)
    ]  # fmt: skip
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        _entry(person, _PATIENT_URL), _entry(consent),
        _measured("age", "30525-0", "2026-03-01T06:00:00Z", 67, "a"),
        _measured("sex", "46098-0", "2026-03-01T06:00:00Z", "female", None),
        _measured("wt", "29463-7", "2026-03-01T06:00:00Z", 72, "kg"),
        _measured("scr", "2160-0", "2026-03-01T06:30:00Z", 97.2, "umol/L"),
        *doses,
        _measured("peak", "4090-7", "2026-03-02T10:00:00Z", 31.0, "mg/L"),
        _measured("trough", "4092-3", "2026-03-02T19:30:00Z", 13.5, "mg/L"),
    ]}  # fmt: skip
