"""A patient twin's records as FHIR: a vancomycin forecast as an Observation, a
recommended regimen as a MedicationRequest (intent ``proposal``), each state as a
Provenance (the observations it used, the model version). Each carries the model version
and the audit record of its decision (extensions), the value with its 90 % interval and,
where the twin explains it, the explanation's top contributions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.provenance import Provenance

from api.fhir.outcome import as_json, audit_extension
from governance.policy.fhir_terms import FhirTerms
from governance.twins.bank import Record, TwinView

EXTENSION = "urn:twinreg:fhir:"
OUTPUT_SYSTEM = "urn:twinreg:twin-record"
TOP_CONTRIBUTIONS = 5
_AUC = {"unit": "mg.h/L", "system": "http://unitsofmeasure.org", "code": "mg.h/L"}


def versions_of(twin: TwinView, moves: Sequence[Record]) -> dict[int, str]:
    """The model version each state number was computed under (moves: oldest first)."""
    first = str(moves[0].body["from_version"]) if moves else twin.model_version
    out, version = {0: first}, first
    for number in range(1, twin.state + 1):
        for move in moves:
            if int(move.body["state"]) == number:
                version = str(move.body["to_version"])
        out[number] = version
    return out


def _model(twin: TwinView, version: str) -> dict[str, Any]:
    return {"url": EXTENSION + "model-version", "valueString": f"{twin.model}|{version}"}


def _extensions(twin: TwinView, version: str, record: Record) -> list[dict[str, Any]]:
    return [_model(twin, version), *audit_extension(record.audit_id)]


def _subject(terms: FhirTerms, patient_id: str) -> dict[str, Any]:
    return {"identifier": {"system": terms.patient_system, "value": patient_id}}


def _quantity(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 6), **_AUC}


def _prediction(value: float, low: float, high: float) -> dict[str, Any]:
    """The value with its 90 % interval, as one complex extension."""
    parts = [("value", value), ("low", low), ("high", high)]
    return {"url": EXTENSION + "prediction-interval-90",
            "extension": [{"url": n, "valueQuantity": _quantity(v)} for n, v in parts]}  # fmt: skip


def _contributions(explanation: Mapping[str, Any]) -> list[dict[str, Any]]:
    ranked = sorted(explanation["contributions"], key=lambda c: -abs(float(c[1])))
    return [
        {"url": EXTENSION + "contribution",
         "extension": [{"url": "feature", "valueString": str(name)},
                       {"url": "value", "valueDecimal": round(float(value), 6)}]}
        for name, value in ranked[:TOP_CONTRIBUTIONS]
    ]  # fmt: skip


def forecast_observation(
    twin: TwinView, version: str, record: Record, terms: FhirTerms, patient_id: str
) -> dict[str, Any] | None:
    """A vancomycin forecast: the AUC24 over its window (None: not a vancomycin forecast)."""
    forecast = record.body.get("forecast")
    if not isinstance(forecast, dict) or "auc24" not in forecast:
        return None
    origin = datetime.fromisoformat(str(record.body["time_origin"]))
    start = origin + timedelta(hours=float(forecast["auc_start_h"]))
    explanation = record.body.get("explanation") or {"contributions": []}
    observation = {
        "resourceType": "Observation",
        "id": record.id,
        "identifier": [{"system": OUTPUT_SYSTEM, "value": record.id}],
        "extension": [*_extensions(twin, version, record), *_contributions(explanation)],
        "status": "preliminary",
        "code": {"coding": [{"system": terms.local_code_system, "code": "vancomycin-auc24",
                             "display": "forecast vancomycin AUC over 24 h"}]},
        "subject": _subject(terms, patient_id),
        "effectivePeriod": {"start": start.isoformat(),
                            "end": (start + timedelta(hours=24)).isoformat()},
        "issued": record.at.isoformat(),
        "valueQuantity": _quantity(forecast["auc24"]),
        "component": [
            {"code": {"text": f"90 % prediction interval, {side}"},
             "valueQuantity": _quantity(forecast[f"auc24_{side}"])}
            for side in ("low", "high")
        ],
        "note": [{"text": f"twin {twin.id} state {record.body.get('state')}; "
                          f"method: {forecast.get('method')}"}],
    }  # fmt: skip
    return as_json(Observation.model_validate(observation))


def recommendation_request(
    twin: TwinView, version: str, record: Record, terms: FhirTerms, patient_id: str
) -> dict[str, Any] | None:
    """The top regimen of a vancomycin recommendation (None: none to propose)."""
    ranked = (record.body.get("recommendation") or {}).get("regimens") or []
    if not ranked:
        return None
    top = ranked[0]
    medication = next(iter(c for c, k in terms.medications.items() if k == "vancomycin_dose"))
    dose = {"value": top["dose_mg"], "unit": "mg", "system": terms.ucum_system, "code": "mg"}
    request = {
        "resourceType": "MedicationRequest",
        "id": record.id,
        "identifier": [{"system": OUTPUT_SYSTEM, "value": record.id}],
        "extension": [
            *_extensions(twin, version, record),
            _prediction(top["auc24"], top["auc24_low"], top["auc24_high"]),
            {"url": EXTENSION + "probability-of-target-attainment",
             "valueDecimal": round(float(top["probability"]), 6)},
        ],
        "status": "draft",
        "intent": "proposal",
        "medicationCodeableConcept": {"coding": [{"system": medication[0],
                                                  "code": medication[1]}]},
        "subject": _subject(terms, patient_id),
        "authoredOn": record.at.isoformat(),
        "dosageInstruction": [{
            "text": f"{top['dose_mg']:g} mg every {top['interval_h']:g} h over "
                    f"{top['infusion_h']:g} h",
            "timing": {"repeat": {"frequency": 1, "period": top["interval_h"],
                                  "periodUnit": "h", "duration": top["infusion_h"],
                                  "durationUnit": "h"}},
            "doseAndRate": [{"doseQuantity": dose}],
        }],
    }  # fmt: skip
    return as_json(MedicationRequest.model_validate(request))


def state_provenance(
    twin: TwinView, version: str, state: Record, terms: FhirTerms
) -> dict[str, Any]:
    """Which observations a state used and under which model version it was computed."""
    used = state.body.get("observation_ids") or []
    provenance = {
        "resourceType": "Provenance",
        "id": state.id,
        "extension": _extensions(twin, version, state),
        "target": [{"identifier": {"system": OUTPUT_SYSTEM, "value": state.id},
                    "display": f"twin {twin.id} state {state.number} ({state.status})"}],
        "recorded": state.at.isoformat(),
        "activity": {"text": "calibration"},
        "agent": [{"type": {"text": "model"},
                   "who": {"display": f"twinreg model {twin.model} version {version}"}}],
        "entity": [
            {"role": "source",
             "what": {"identifier": {"system": OUTPUT_SYSTEM, "value": str(ident)},
                      "type": "Observation"}}
            for ident in used
        ],
    }  # fmt: skip
    return as_json(Provenance.model_validate(provenance))
