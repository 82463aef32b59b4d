"""Observation and MedicationAdministration -> entries of the patient twins' observation
schema (:mod:`governance.twins.entries`), with where each field came from.

An Observation's kind is the row of ``policies/observation_kinds.toml`` listing one of its
codings (LOINC as listed; a local ``twinreg:<code>`` as ``<code>`` in the local system);
its value a UCUM ``valueQuantity`` (system ``http://unitsofmeasure.org``, the unit in
``code``), a ``valueCodeableConcept`` naming one of a coded kind's values, or components
coded as ``fhir_terms.toml`` lists them. ``identifier`` (system, value) is the entry's
(source, id): the idempotency key. A vancomycin MedicationAdministration (completed) is a
``vancomycin_dose``: ``dosage.dose`` the amount, ``effectivePeriod`` its start and duration.
Units, bounds and values are then checked by the entry schema itself (422 naming the FHIR
element the faulty field came from).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.quantity import Quantity

from api.fhir.elements import moment, no_modifiers
from api.fhir.errors import Unsupported
from governance.policy.fhir_terms import FhirTerms
from governance.policy.observation_kinds import ObservationKind

_DONE = frozenset({"final", "amended", "corrected"})


@dataclass(frozen=True)
class EntryIn:
    """One observation entry (raw, as ``POST .../observations`` takes it) and, per entry
    field (``value``, ``components.systolic.unit``), the FHIR element it came from."""

    where: str
    raw: dict[str, Any]
    fields: Mapping[str, str] = field(default_factory=dict)

    def expression(self, entry_field: str) -> str:
        """The FHIR element of ``entry_field`` (or of its nearest mapped parent)."""
        name = entry_field
        while name:
            if name in self.fields:
                return self.fields[name]
            name = name.rpartition(".")[0]
        return self.where


def _key(identifiers: Any, where: str) -> tuple[str, str, dict[str, str]]:
    for i, ident in enumerate(identifiers or []):
        if ident.system and ident.value:
            at = f"{where}.identifier[{i}]"
            return (
                str(ident.system),
                str(ident.value),
                {"source": f"{at}.system", "id": f"{at}.value"},
            )
    raise Unsupported(
        "give an identifier (system and value): it is the idempotency key", f"{where}.identifier"
    )


def _kind(
    code: CodeableConcept, terms: FhirTerms, kinds: Mapping[str, ObservationKind], where: str
) -> tuple[ObservationKind, str]:
    for coding in code.coding or []:
        if coding.system == terms.loinc_system:
            listed = str(coding.code)
        elif coding.system == terms.local_code_system:
            listed = f"twinreg:{coding.code}"
        else:
            continue
        for kind in kinds.values():
            if listed in kind.codes:
                return kind, listed
    accepted = sorted(c for k in kinds.values() for c in k.codes)
    raise Unsupported(
        f"no coding names an observation kind; accepted codes: {accepted}", f"{where}.code"
    )


def _quantity(quantity: Quantity, terms: FhirTerms, where: str) -> dict[str, Any]:
    if quantity.system not in (None, terms.ucum_system) or not quantity.code:
        raise Unsupported(
            f"give the unit as a UCUM code (system {terms.ucum_system})", f"{where}.code"
        )
    if quantity.value is None or quantity.comparator is not None:
        raise Unsupported("give an exact value (no comparator)", f"{where}.value")
    return {"value": float(quantity.value), "unit": str(quantity.code)}


def map_observation(
    obs: Observation, terms: FhirTerms, kinds: Mapping[str, ObservationKind], where: str
) -> EntryIn:
    no_modifiers(obs, where)
    if obs.status not in _DONE:
        raise Unsupported(f"status must be one of {sorted(_DONE)}", f"{where}.status")
    source, ident, fields = _key(obs.identifier, where)
    kind, code = _kind(obs.code, terms, kinds, where)
    if obs.effectiveDateTime is not None:
        at, fields["time"] = f"{where}.effectiveDateTime", f"{where}.effectiveDateTime"
        time = moment(obs.effectiveDateTime, at)
    elif obs.effectiveInstant is not None:
        fields["time"] = f"{where}.effectiveInstant"
        time = moment(obs.effectiveInstant, fields["time"])
    else:
        raise Unsupported(
            "give effectiveDateTime (when it was measured, with its zone)",
            f"{where}.effectiveDateTime",
        )
    raw: dict[str, Any] = {
        "id": ident,
        "source": source,
        "kind": kind.name,
        "time": time.isoformat(),
        "code": code,
    }
    fields.update(code=f"{where}.code", kind=f"{where}.code")
    if kind.components:
        raw["components"] = _components(obs, kind, terms, where, fields)
    elif kind.values is not None:
        raw["value"] = _coded(obs, kind, where)
        fields["value"] = f"{where}.valueCodeableConcept"
    elif obs.valueQuantity is not None:
        raw.update(_quantity(obs.valueQuantity, terms, f"{where}.valueQuantity"))
        fields.update(value=f"{where}.valueQuantity.value", unit=f"{where}.valueQuantity.code")
    else:
        raise Unsupported(f"{kind.name} takes valueQuantity", f"{where}.valueQuantity")
    return EntryIn(where, raw, fields)


def _coded(obs: Observation, kind: ObservationKind, where: str) -> str:
    assert kind.values is not None
    concept = obs.valueCodeableConcept
    for coding in concept.coding or [] if concept is not None else []:
        if coding.code in kind.values:
            return str(coding.code)
    raise Unsupported(
        f"{kind.name} takes a valueCodeableConcept coding one of {sorted(kind.values)}",
        f"{where}.valueCodeableConcept",
    )


def _components(
    obs: Observation, kind: ObservationKind, terms: FhirTerms, where: str, fields: dict[str, str]
) -> dict[str, Any]:
    names = terms.components.get(kind.name, {})
    if not names:
        raise Unsupported(f"{kind.name} is not taken from a FHIR Observation", f"{where}.code")
    parts: dict[str, Any] = {}
    for j, component in enumerate(obs.component or []):
        at = f"{where}.component[{j}]"
        codes = [str(c.code) for c in component.code.coding or [] if c.system == terms.loinc_system]
        name = next((names[c] for c in codes if c in names), None)
        if name is None or component.valueQuantity is None:
            raise Unsupported(
                f"give a component coded one of {sorted(names)} with a valueQuantity", f"{at}.code"
            )
        parts[name] = _quantity(component.valueQuantity, terms, f"{at}.valueQuantity")
        fields[f"components.{name}.value"] = f"{at}.valueQuantity.value"
        fields[f"components.{name}.unit"] = f"{at}.valueQuantity.code"
        fields[f"components.{name}"] = at
    fields["components"] = f"{where}.component"
    return parts


def map_administration(given: MedicationAdministration, terms: FhirTerms, where: str) -> EntryIn:
    """A completed infusion of a medication the term map lists -> its dose entry."""
    no_modifiers(given, where)
    if given.status != "completed":
        raise Unsupported("status must be completed (a dose given)", f"{where}.status")
    source, ident, fields = _key(given.identifier, where)
    kind = _medication(given.medicationCodeableConcept, terms, where)
    period = given.effectivePeriod
    if period is None or period.start is None or period.end is None:
        raise Unsupported(
            "give effectivePeriod with start and end (the infusion)", f"{where}.effectivePeriod"
        )
    start = moment(period.start, f"{where}.effectivePeriod.start")
    end = moment(period.end, f"{where}.effectivePeriod.end")
    if given.dosage is None or given.dosage.dose is None:
        raise Unsupported("give dosage.dose (the amount given)", f"{where}.dosage.dose")
    amount = _quantity(given.dosage.dose, terms, f"{where}.dosage.dose")
    hours = (end - start).total_seconds() / 3600.0
    raw = {
        "id": ident,
        "source": source,
        "kind": kind,
        "time": start.isoformat(),
        "components": {
            "amount": amount,
            "start": start.isoformat(),
            "duration": {"value": hours, "unit": "h"},
        },
    }
    fields.update(
        {
            "time": f"{where}.effectivePeriod.start",
            "components.start": f"{where}.effectivePeriod.start",
            "components.duration": f"{where}.effectivePeriod.end",
            "components.amount.value": f"{where}.dosage.dose.value",
            "components.amount.unit": f"{where}.dosage.dose.code",
            "components": f"{where}.dosage",
        }
    )
    return EntryIn(where, raw, fields)


def _medication(concept: CodeableConcept | None, terms: FhirTerms, where: str) -> str:
    for coding in concept.coding or [] if concept is not None else []:
        kind = terms.medications.get((str(coding.system), str(coding.code)))
        if kind is not None:
            return kind
    known = sorted(f"{s}|{c}" for s, c in terms.medications)
    raise Unsupported(
        f"not a mapped medication; known: {known}", f"{where}.medicationCodeableConcept"
    )
