"""The FHIR R4 resources a hook request carries, read with ``fhir.resources``' R4B models
(R4B shares R4's Patient, Observation, Condition, MedicationRequest and Bundle).

This module is the CDS Hooks adapter's own small reader: prefetched ``patient`` (a
Patient), ``observations`` and ``conditions`` (searchset Bundles), and the draft orders
of ``order-select`` / ``order-sign`` (a Bundle of MedicationRequests among other orders).
A resource that is not valid FHIR, or that concerns another patient than
``context.patientId``, is refused (422 naming the prefetch key or context field); the error
names the element and the rule, never the value sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from pydantic import BaseModel, ValidationError

from api.cds.errors import HookRequestInvalid

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class ClinicalFacts:
    """What the EHR prefetched (None: that key was not sent, or sent as null)."""

    patient: Patient | None
    observations: tuple[Observation, ...] | None
    conditions: tuple[Condition, ...] | None

    @property
    def empty(self) -> bool:
        return self.patient is None and self.observations is None and self.conditions is None


def _resource(model: type[R], value: object, field: str) -> R:
    if not isinstance(value, dict):
        raise HookRequestInvalid(f"{field} must be a FHIR resource (a JSON object)", field=field)
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise HookRequestInvalid(
            f"{field} is not a valid FHIR R4 {model.__name__} ({where}: {first.get('msg')})",
            field=field,
        ) from exc


def _entries(bundle: Bundle, kind: type[R], field: str) -> list[R]:
    """The resources of ``kind`` in the bundle (OperationOutcomes and others skipped)."""
    out: list[R] = []
    for i, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        if isinstance(resource, kind):
            out.append(resource)
        elif resource is None:
            raise HookRequestInvalid(f"{field}.entry[{i}] has no resource", field=field)
    return out


def _subject_is(reference: object, patient_id: str, field: str) -> None:
    text = getattr(reference, "reference", None)
    if text is not None and text not in (f"Patient/{patient_id}", patient_id):
        raise HookRequestInvalid(f"{field} concerns another patient than context.patientId",
                                 field=field)  # fmt: skip


def _bundle(value: object, kind: type[R], field: str, patient_id: str) -> tuple[R, ...] | None:
    if value is None:
        return None
    found = _entries(_resource(Bundle, value, field), kind, field)
    for resource in found:
        _subject_is(getattr(resource, "subject", None), patient_id, field)
    return tuple(found)


def read_prefetch(prefetch: Mapping[str, Any] | None, patient_id: str) -> ClinicalFacts:
    """The prefetched resources the risk service reads."""
    given = prefetch or {}
    patient = None
    if given.get("patient") is not None:
        patient = _resource(Patient, given["patient"], "prefetch.patient")
        if patient.id is not None and patient.id != patient_id:
            raise HookRequestInvalid(
                "prefetch.patient is another patient than context.patientId",
                field="prefetch.patient",
            )
    return ClinicalFacts(
        patient,
        _bundle(given.get("observations"), Observation, "prefetch.observations", patient_id),
        _bundle(given.get("conditions"), Condition, "prefetch.conditions", patient_id),
    )


def draft_medication_requests(
    draft_orders: object, patient_id: str, selections: Sequence[str] | None = None
) -> list[MedicationRequest]:
    """The draft MedicationRequests of ``context.draftOrders`` (those ``selections`` names,
    when given: order-select's newly selected orders)."""
    if draft_orders is None:
        raise HookRequestInvalid("context.draftOrders is required", field="context.draftOrders")
    bundle = _resource(Bundle, draft_orders, "context.draftOrders")
    orders = _entries(bundle, MedicationRequest, "context.draftOrders")
    for order in orders:
        _subject_is(order.subject, patient_id, "context.draftOrders")
    if selections is not None:
        chosen = set(selections)
        orders = [o for o in orders if f"MedicationRequest/{o.id}" in chosen]
    return orders
