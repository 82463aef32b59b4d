"""Elements every resource twinreg produces from a decision shares: the model version and
the audit record (extensions), the pseudonymous subject, a quantity in UCUM, the 90 %
interval as two coded components, a curve as SampledData, and the explanation's top
contributions (extensions, largest magnitude first)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from api.fhir.outcome import audit_extension

EXTENSION = "urn:twinreg:fhir:"
OUTPUT_SYSTEM = "urn:twinreg:twin-record"
UCUM = "http://unitsofmeasure.org"
#: Codes of Observation.component: the bounds of the 90 % prediction interval.
INTERVAL_SYSTEM = "urn:twinreg:prediction-interval"
INTERVAL_CODES = (("low-90", "low"), ("high-90", "high"))
TOP_CONTRIBUTIONS = 5
#: Decimal places kept in produced values (FHIR decimals; far below any model's error).
PLACES = 6


def model_extension(model: str, version: str) -> dict[str, Any]:
    return {"url": EXTENSION + "model-version", "valueString": f"{model}|{version}"}


def decision_extensions(model: str, version: str, audit_id: str) -> list[dict[str, Any]]:
    """The model version and the audit record of the decision a resource says."""
    return [model_extension(model, version), *audit_extension(audit_id)]


def subject(patient_system: str, patient_id: str) -> dict[str, Any]:
    """The pseudonymous patient, by identifier (twinreg keeps no Patient resource)."""
    return {"identifier": {"system": patient_system, "value": patient_id}}


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": round(float(value), PLACES), "unit": unit, "system": UCUM, "code": unit}


def interval_components(low: Any, high: Any, value_key: str) -> list[dict[str, Any]]:
    """The 90 % prediction interval's bounds as components (``value_key``:
    ``valueQuantity`` or ``valueSampledData``); the component code names the bound."""
    return [
        {"code": {"coding": [{"system": INTERVAL_SYSTEM, "code": code,
                              "display": f"90 % prediction interval, {side}"}],
                  "text": f"90 % prediction interval, {side}"},
         value_key: bound}
        for (code, side), bound in zip(INTERVAL_CODES, (low, high), strict=True)
    ]  # fmt: skip


def is_even(times: Sequence[float]) -> bool:
    """Whether ``times`` are evenly spaced (SampledData has one period)."""
    if len(times) < 2:
        return False
    step = times[1] - times[0]
    tolerance = 1e-6 * step
    return step > 0 and all(abs(b - a - step) <= tolerance for a, b in itertools.pairwise(times))


def sampled(values: Sequence[float], period_h: float, unit: str) -> dict[str, Any]:
    """A curve sampled every ``period_h`` hours from the effective start (SampledData:
    ``period`` in milliseconds, values separated by spaces)."""
    return {
        "origin": {"value": 0, "unit": unit, "system": UCUM, "code": unit},
        "period": round(period_h * 3_600_000.0, 3),
        "dimensions": 1,
        "data": " ".join(decimal_text(v) for v in values),
    }


def decimal_text(value: float) -> str:
    """A value as a plain decimal (no exponent), :data:`PLACES` places at most."""
    text = f"{float(value):.{PLACES}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pairs(contributions: Mapping[str, float] | Iterable[Sequence[Any]]) -> list[tuple[str, float]]:
    if isinstance(contributions, Mapping):
        return [(str(n), float(v)) for n, v in contributions.items()]
    return [(str(c[0]), float(c[1])) for c in contributions]


def contribution_extensions(
    contributions: Mapping[str, float] | Iterable[Sequence[Any]],
) -> list[dict[str, Any]]:
    """The top contributions (by magnitude) of an explanation, as extensions."""
    ranked = sorted(_pairs(contributions), key=lambda c: -abs(c[1]))
    return [
        {"url": EXTENSION + "contribution",
         "extension": [{"url": "feature", "valueString": name},
                       {"url": "value", "valueDecimal": round(value, PLACES)}]}
        for name, value in ranked[:TOP_CONTRIBUTIONS]
    ]  # fmt: skip
