"""A patient twin's forecast record as FHIR Observations, one per forecast quantity (the
quantities of each twin kind: :mod:`api.fhir.forecast_kinds`).

Each Observation (status ``preliminary``: a forecast, not a measurement) carries the model
version and the forecast's audit record (extensions), its value — a ``valueQuantity``, or
a curve as ``valueSampledData`` when its times are evenly spaced — and the 90 % prediction
interval as two components coded ``low-90`` and ``high-90`` (system
``urn:twinreg:prediction-interval``) of the same type; the explanation's top contributions
(extensions) go on the Observation whose value they add up to. Codes: the LOINC codes of
``policies/observation_kinds.toml`` where the quantity is one an observation of that kind
measures, else the local system (``urn:twinreg:observation-code``).

Per twin: vancomycin: AUC24 (local ``vancomycin-auc24``, explained) and the concentration
curve (LOINC 4092-3); glucose: mean plasma glucose (local ``glucose-mean``, explained), time
in range 70-180 mg/dL (local ``glucose-time-in-range``, explained), the plasma (LOINC
2339-0) and CGM (LOINC 99504-3) curves; Windkessel: systolic (LOINC 8480-6), diastolic
(8462-4) and mean arterial pressure (local ``mean-arterial-pressure``), each at the start
(explained: the steady beat at the heart rate then) and at the horizon (explained when it
is the same value); radiotherapy: the tumour volume at the horizon (local
``tumour-volume``, explained).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fhir.resources.R4B.observation import Observation

from api.fhir.outcome import as_json
from api.fhir.twin_elements import (
    OUTPUT_SYSTEM,
    contribution_extensions,
    decision_extensions,
    interval_components,
    is_even,
    quantity,
    sampled,
    subject,
)
from governance.policy.fhir_terms import FhirTerms
from governance.twins.views import Record, TwinView

#: (observation kind of the table, LOINC code) of each forecast quantity with one.
LOINC_CODES: dict[str, tuple[str, str]] = {
    "vancomycin-concentration": ("vancomycin_level", "4092-3"),
    "glucose-plasma": ("glucose_fingerstick", "2339-0"),
    "glucose-cgm": ("glucose_cgm", "99504-3"),
    "systolic": ("blood_pressure", "8480-6"),
    "diastolic": ("blood_pressure", "8462-4"),
}
#: Local codes (``urn:twinreg:observation-code``) of the quantities LOINC has no code for.
LOCAL_CODES = ("vancomycin-auc24", "glucose-mean", "glucose-time-in-range",
               "mean-arterial-pressure", "tumour-volume")  # fmt: skip
_TEXT = {
    "vancomycin-auc24": "forecast vancomycin AUC over 24 h",
    "vancomycin-concentration": "forecast vancomycin concentration",
    "glucose-plasma": "forecast plasma glucose",
    "glucose-cgm": "forecast CGM (sensor) glucose",
    "glucose-mean": "forecast mean plasma glucose",
    "glucose-time-in-range": "forecast time in range 70-180 mg/dL",
    "systolic": "forecast systolic blood pressure",
    "diastolic": "forecast diastolic blood pressure",
    "mean-arterial-pressure": "forecast mean arterial pressure",
    "tumour-volume": "forecast tumour volume",
}


@dataclass(frozen=True)
class Forecast:
    """One forecast record and what its Observations are said with."""

    twin: TwinView
    version: str
    record: Record
    terms: FhirTerms
    patient_id: str

    @property
    def body(self) -> dict[str, Any]:
        return self.record.body

    def code(self, name: str) -> dict[str, Any]:
        if name in LOINC_CODES:
            coding = {"system": self.terms.loinc_system, "code": LOINC_CODES[name][1]}
        else:
            coding = {"system": self.terms.local_code_system, "code": name}
        return {"coding": [coding], "text": _TEXT[name]}


@dataclass(frozen=True)
class Said:
    """One forecast quantity: its value and interval bounds (valueQuantity or
    valueSampledData), when, and the explanation it carries."""

    name: str
    part: str
    value_key: str
    value: dict[str, Any]
    low: dict[str, Any]
    high: dict[str, Any]
    effective: dict[str, Any]
    contributions: Sequence[Any] | Mapping[str, float] = ()


def observation(forecast: Forecast, said: Said) -> dict[str, Any]:
    """The validated Observation of ``said``."""
    record, twin = forecast.record, forecast.twin
    ident = f"{record.id}-{said.part}"
    resource = {
        "resourceType": "Observation",
        "id": ident,
        "identifier": [{"system": OUTPUT_SYSTEM, "value": f"{record.id}/{said.part}"}],
        "extension": [*decision_extensions(twin.model, forecast.version, record.audit_id),
                      *contribution_extensions(said.contributions)],
        "status": "preliminary",
        "code": forecast.code(said.name),
        "subject": subject(forecast.terms.patient_system, forecast.patient_id),
        **said.effective,
        "issued": record.at.isoformat(),
        said.value_key: said.value,
        "component": interval_components(said.low, said.high, said.value_key),
        "method": {"text": str(forecast.body["forecast"].get("method", ""))[:1000]},
        "note": [{"text": f"twin {twin.id} state {forecast.body.get('state')}; forecast "
                          f"record {record.id}"}],
    }  # fmt: skip
    return as_json(Observation.model_validate(resource))


def period(start: datetime, end: datetime) -> dict[str, Any]:
    return {"effectivePeriod": {"start": start.isoformat(), "end": end.isoformat()}}


def at(when: datetime) -> dict[str, Any]:
    return {"effectiveDateTime": when.isoformat()}


def scalar(name: str, part: str, values: Mapping[str, Any], key: str, unit: str,
           effective: dict[str, Any], contributions: Any = ()) -> Said:  # fmt: skip
    """``values[key]`` with ``key_low`` and ``key_high`` as quantities."""
    low, mid, high = (quantity(values[k], unit) for k in (f"{key}_low", key, f"{key}_high"))
    return Said(name, part, "valueQuantity", mid, low, high, effective, contributions)


def curve(name: str, part: str, values: Mapping[str, Any], key: str, unit: str,
          times_h: Sequence[float], start: datetime) -> Said | None:  # fmt: skip
    """``values[key]`` (and its bounds) over ``times_h`` (hours from ``start``) as
    SampledData; None when the times are not evenly spaced."""
    if not is_even(times_h):
        return None
    step = times_h[1] - times_h[0]
    low, mid, high = (sampled(values[k], step, unit) for k in (f"{key}_low", key, f"{key}_high"))
    first = start + timedelta(hours=times_h[0])
    effective = period(first, start + timedelta(hours=times_h[-1]))
    return Said(name, part, "valueSampledData", mid, low, high, effective)
