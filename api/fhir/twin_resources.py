"""A patient twin's records as FHIR: a recommended regimen as a MedicationRequest (intent
``proposal``), each state as a Provenance (the observations it used, the model version);
forecasts are Observations (:mod:`api.fhir.forecasts`). Each carries the model version and
the audit record of its decision (extensions), the value with its 90 % interval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.provenance import Provenance

from api.fhir.outcome import as_json
from api.fhir.twin_elements import (
    EXTENSION,
    OUTPUT_SYSTEM,
    decision_extensions,
    quantity,
    subject,
)
from governance.policy.fhir_terms import FhirTerms
from governance.twins.views import Record, TwinView

_AUC = "mg.h/L"


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


def _extensions(twin: TwinView, version: str, record: Record) -> list[dict[str, Any]]:
    return decision_extensions(twin.model, version, record.audit_id)


def _prediction(value: float, low: float, high: float) -> dict[str, Any]:
    """The value with its 90 % interval, as one complex extension."""
    parts = [("value", value), ("low", low), ("high", high)]
    said = [{"url": n, "valueQuantity": quantity(v, _AUC)} for n, v in parts]
    return {"url": EXTENSION + "prediction-interval-90", "extension": said}


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
        "subject": subject(terms.patient_system, patient_id),
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
