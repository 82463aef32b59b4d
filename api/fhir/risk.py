"""``POST /fhir/RiskAssessment/$predict``: a Parameters resource in, what the prediction
asks (:class:`RiskQuery`); a released prediction out as a RiskAssessment, a withheld one as
an OperationOutcome naming each failing check.

Parameters (each once, but ``feature``): ``model`` (valueString or valueCode), ``version``
(optional, the same), ``purpose`` (a twinreg purpose, or a v3 PurposeOfUse code of the
term map, as valueCode, valueString or valueCoding), ``patient`` (valueIdentifier of the
term map's patient system) and one ``feature`` per model feature, with the parts ``name``
(valueString or valueCode) and ``value`` (valueDecimal, valueInteger, or valueBoolean for
a 0/1 feature). Anything else is 422 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fhir.resources.R4B.parameters import Parameters, ParametersParameter
from fhir.resources.R4B.riskassessment import RiskAssessment
from pydantic import ValidationError

from api.fhir.bundle import path_of
from api.fhir.errors import InvalidResource, Unsupported
from api.fhir.outcome import as_json
from api.fhir.risk_prediction import prediction_element
from api.fhir.twin_elements import (
    EXTENSION,
    PLACES,
    contribution_extensions,
    decision_extensions,
    subject,
)
from governance.policy.fhir_terms import FhirTerms

ROOT = "Parameters"
MODEL_SYSTEM = "urn:twinreg:model"
AUDIT_SYSTEM = "urn:twinreg:audit-record"
_ONCE = ("model", "version", "purpose", "patient")
_TEXT_TYPES = ("valueString", "valueCode")


@dataclass(frozen=True)
class RiskQuery:
    """What a ``$predict`` asks, and where each thing was said (FHIRPath)."""

    model: str
    version: str | None
    purpose: str
    patient_id: str
    features: dict[str, float]
    #: twinreg field (``model``, ``features.age`` ...) -> the parameter that gave it
    where: dict[str, str] = field(default_factory=dict)

    def expression(self, name: str | None) -> str:
        """The parameter behind a twinreg field (the parameters, for one not given)."""
        return self.where.get(name or "", f"{ROOT}.parameter")


@dataclass(frozen=True)
class Released:
    """A released prediction, in the terms a RiskAssessment needs."""

    model: str
    version: str
    audit_id: str
    at: datetime
    outcome: str
    prediction: Mapping[str, Any]
    explanation: Mapping[str, Any]
    warnings: Sequence[str] = ()


def _at(i: int, part: str = "") -> str:
    return f"{ROOT}.parameter[{i}]{part}"


def _text(param: ParametersParameter, where: str) -> str:
    for key in _TEXT_TYPES:
        value = getattr(param, key, None)
        if isinstance(value, str) and value:
            return value
    raise Unsupported(f"give {param.name} as {' or '.join(_TEXT_TYPES)}", where)


def _purpose(param: ParametersParameter, terms: FhirTerms, where: str) -> str:
    coding = param.valueCoding
    if coding is None:
        named = _text(param, where)
        return terms.purposes.get(named, named)
    if coding.system != terms.purpose_system or coding.code not in terms.purposes:
        raise Unsupported(f"a purpose coding is a code of {terms.purpose_system} in "
                          f"{sorted(terms.purposes)}", where + ".valueCoding")  # fmt: skip
    return terms.purposes[str(coding.code)]


def _patient(param: ParametersParameter, terms: FhirTerms, where: str) -> str:
    ident = param.valueIdentifier
    if ident is None or ident.system != terms.patient_system or not ident.value:
        raise Unsupported(f"give the patient as valueIdentifier {{system: "
                          f"{terms.patient_system!r}, value}}", where)  # fmt: skip
    return str(ident.value)


def _feature(param: ParametersParameter, where: str) -> tuple[str, float]:
    parts = {str(p.name): (i, p) for i, p in enumerate(param.part or [])}
    if sorted(parts) != ["name", "value"] or len(param.part or []) != 2:
        raise Unsupported("a feature has exactly the parts name and value", where + ".part")
    name = _text(parts["name"][1], f"{where}.part[{parts['name'][0]}]")
    index, value = parts["value"]
    raw = value.valueDecimal if value.valueDecimal is not None else value.valueInteger
    if raw is None and value.valueBoolean is not None:
        raw = int(value.valueBoolean)
    if raw is None:
        raise Unsupported("give the value as valueDecimal, valueInteger or valueBoolean",
                          f"{where}.part[{index}]")  # fmt: skip
    return name, float(raw)


def parse_risk_query(body: object, terms: FhirTerms) -> RiskQuery:
    """The Parameters of ``$predict`` (400: not a valid Parameters; 422 naming the one
    parameter that cannot be taken)."""
    if not isinstance(body, dict) or body.get("resourceType") != ROOT:
        raise InvalidResource("send a Parameters resource", f"{ROOT}.resourceType")
    try:
        params = Parameters.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidResource(str(first["msg"]), path_of(tuple(first["loc"]), ROOT)) from exc
    said: dict[str, Any] = {"features": {}}
    where: dict[str, str] = {}
    for i, param in enumerate(params.parameter or []):
        name = str(param.name)
        if name == "feature":
            feature, value = _feature(param, _at(i))
            if feature in said["features"]:
                raise Unsupported(f"feature {feature!r} is given twice", _at(i))
            said["features"][feature], where[f"features.{feature}"] = value, _at(i)
            continue
        if name not in _ONCE or name in said:
            why = "is given twice" if name in said else f"is not one of {[*_ONCE, 'feature']}"
            raise Unsupported(f"parameter {name!r} {why}", _at(i, ".name"))
        if name == "purpose":
            said[name] = _purpose(param, terms, _at(i))
        elif name == "patient":
            said[name] = _patient(param, terms, _at(i))
        else:
            said[name] = _text(param, _at(i))
        where["patient_id" if name == "patient" else name] = _at(i)
    for name in ("model", "purpose", "patient"):
        if name not in said:
            raise Unsupported(f"the parameter {name!r} is required", f"{ROOT}.parameter")
    return RiskQuery(said["model"], said.get("version"), said["purpose"], said["patient"],
                     said["features"], where)  # fmt: skip


def risk_assessment(released: Released, terms: FhirTerms, patient_id: str) -> dict[str, Any]:
    """The validated RiskAssessment of a released prediction."""
    e = released.explanation
    explanation = {"url": EXTENSION + "explanation", "extension": [
        {"url": "output-space", "valueString": str(e["output_space"])},
        {"url": "base-value", "valueDecimal": round(float(e["base_value"]), PLACES)},
        {"url": "output-value", "valueDecimal": round(float(e["output_value"]), PLACES)},
    ]}  # fmt: skip
    resource = {
        "resourceType": "RiskAssessment",
        "id": released.audit_id,
        "identifier": [{"system": AUDIT_SYSTEM, "value": released.audit_id}],
        "extension": [*decision_extensions(released.model, released.version, released.audit_id),
                      explanation, *contribution_extensions(e["contributions"])],
        "status": "final",
        "method": {"coding": [{"system": MODEL_SYSTEM, "code": released.model,
                               "version": released.version}],
                   "text": f"twinreg model {released.model} version {released.version}"},
        "subject": subject(terms.patient_system, patient_id),
        "occurrenceDateTime": released.at.isoformat(),
        "prediction": [prediction_element(released.prediction, released.outcome, terms)],
        "note": [{"text": f"warning: {w}"} for w in released.warnings],
    }  # fmt: skip
    return as_json(RiskAssessment.model_validate(resource))
