"""Draft vancomycin orders: which MedicationRequests are vancomycin (the map's medication
codes, or a whole-word mention in its text), the regimen a draft asks for (dose in mg,
interval in hours) and the draft rewritten with a recommended regimen (a valid FHIR R4
MedicationRequest: the suggestion's ``update`` action replaces the draft with it).
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest

from governance.policy.feature_codes import DosingService

UCUM = "http://unitsofmeasure.org"
INTRAVENOUS = {"coding": [{"system": "http://snomed.info/sct", "code": "47625008",
                           "display": "Intravenous route"}]}  # fmt: skip
_TO_MG = {"mg": 1.0, "g": 1000.0}
_TO_HOURS = {"h": 1.0, "d": 24.0, "min": 1.0 / 60.0}


def is_vancomycin(order: MedicationRequest, dosing: DosingService) -> bool:
    concept = order.medicationCodeableConcept
    if concept is None:
        return False
    wanted = {c.token() for c in dosing.medication_codes}
    codings = concept.coding or []
    if any(f"{c.system}|{c.code}" in wanted for c in codings):
        return True
    if dosing.medication_text is None:
        return False
    words = " ".join([concept.text or "", *(c.display or "" for c in codings)])
    return re.search(rf"\b{re.escape(dosing.medication_text)}\b", words, re.IGNORECASE) is not None


def draft_regimen(order: MedicationRequest) -> tuple[float, float] | None:
    """(dose in mg, interval in hours) of the draft's first dosage, if it says both."""
    dosage = order.dosageInstruction[0] if order.dosageInstruction else None
    if dosage is None or not dosage.doseAndRate or dosage.timing is None:
        return None
    dose = dosage.doseAndRate[0].doseQuantity
    repeat = dosage.timing.repeat
    if dose is None or dose.value is None or repeat is None or repeat.period is None:
        return None
    unit = dose.code or dose.unit
    hours = _TO_HOURS.get(str(repeat.periodUnit))
    if unit not in _TO_MG or hours is None:
        return None
    frequency = repeat.frequency or 1
    return float(dose.value) * _TO_MG[unit], float(repeat.period) * hours / frequency


def replaced(order: MedicationRequest, dose_mg: float, interval_h: float,
             infusion_h: float) -> dict[str, Any]:  # fmt: skip
    """The draft with its dosage replaced by the regimen (everything else kept)."""
    draft = order.model_dump(mode="json", exclude_none=True)
    previous = (draft.get("dosageInstruction") or [{}])[0]
    draft["dosageInstruction"] = [{
        "text": f"{dose_mg:g} mg IV every {interval_h:g} h, each infused over {infusion_h:g} h",
        "timing": {"repeat": {"frequency": 1, "period": interval_h, "periodUnit": "h"}},
        "route": previous.get("route", INTRAVENOUS),
        "doseAndRate": [{"doseQuantity": {"value": dose_mg, "unit": "mg", "system": UCUM,
                                          "code": "mg"}}],
    }]  # fmt: skip
    checked = MedicationRequest.model_validate(draft)  # a valid FHIR R4 resource, or raise
    resource: dict[str, Any] = checked.model_dump(mode="json", exclude_none=True)
    return resource
