"""A released prediction as ``RiskAssessment.prediction``: the outcome of the model card,
and the value by its kind.

| prediction kind | RiskAssessment.prediction |
| --- | --- |
| ``probability`` (classifiers) | ``probabilityDecimal``; the operating threshold and whether the probability reaches it as extensions ``operating-threshold`` / ``above-threshold`` |
| ``risk_score`` (Cox) | the score (partial hazard) as extension ``risk-score``; with the card's horizon, ``probabilityDecimal`` = 1 - the survival probability at the horizon, ``whenRange.high`` the horizon |
| ``value`` (regressors, dosing, mechanistic) | extension ``predicted-value`` (and ``output``, the mechanistic output named); no probability |
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.fhir.twin_elements import EXTENSION, PLACES
from governance.policy.fhir_terms import FhirTerms

#: A card's ``horizon_unit`` -> its UCUM code.
HORIZON_UNITS = {"days": "d", "weeks": "wk", "months": "mo", "years": "a", "hours": "h"}


def _decimal(name: str, value: Any) -> dict[str, Any]:
    return {"url": EXTENSION + name, "valueDecimal": round(float(value), PLACES)}


def _horizon(prediction: Mapping[str, Any], terms: FhirTerms) -> dict[str, Any]:
    unit = str(prediction.get("horizon_unit", "days"))
    high: dict[str, Any] = {"value": float(prediction["horizon"]), "unit": unit}
    if unit in HORIZON_UNITS:
        high.update(system=terms.ucum_system, code=HORIZON_UNITS[unit])
    return {"high": high}


def prediction_element(
    prediction: Mapping[str, Any], outcome: str, terms: FhirTerms
) -> dict[str, Any]:
    """``RiskAssessment.prediction[0]`` of a released ``prediction``."""
    kind, value = prediction["kind"], float(prediction["value"])
    element: dict[str, Any] = {"outcome": {"text": outcome}}
    extensions: list[dict[str, Any]] = [{"url": EXTENSION + "prediction-kind",
                                         "valueCode": str(kind)}]  # fmt: skip
    if kind == "probability":
        element["probabilityDecimal"] = round(value, PLACES)
        if prediction.get("threshold") is not None:
            extensions.append(_decimal("operating-threshold", prediction["threshold"]))
            extensions.append({"url": EXTENSION + "above-threshold",
                               "valueBoolean": bool(prediction["above_threshold"])})  # fmt: skip
    elif kind == "risk_score":
        extensions.append(_decimal("risk-score", value))
        survival = prediction.get("survival_probability")
        if survival is not None and prediction.get("horizon") is not None:
            element["probabilityDecimal"] = round(1.0 - float(survival), PLACES)
            element["whenRange"] = _horizon(prediction, terms)
    else:
        extensions.append(_decimal("predicted-value", value))
        if prediction.get("output") is not None:
            extensions.append({"url": EXTENSION + "output",
                               "valueString": str(prediction["output"])})  # fmt: skip
    element["extension"] = extensions
    return element
