"""A transaction Bundle, validated (fhir.resources R4B), and what it asks twinreg to do:
per patient, its registration, consents and observations (:class:`TransactionPlan`).

Only ``POST`` entries of Patient, Consent, Observation and MedicationAdministration are
taken. A subject or Consent.patient names its patient by the ``fullUrl`` of a Patient
entry of the Bundle, or by identifier (the term map's patient system: a patient already
registered at the caller's site).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError

from api.fhir.consents import ConsentTerms, map_consent
from api.fhir.elements import reference_identifier
from api.fhir.errors import InvalidResource, Unsupported
from api.fhir.observations import EntryIn, map_administration, map_observation
from api.fhir.patients import PatientRef, map_patient
from governance.errors import InvalidInput
from governance.policy.fhir_terms import FhirTerms
from governance.policy.observation_kinds import ObservationKind
from governance.twins.entries import check_entries

RESOURCES = ("Patient", "Consent", "Observation", "MedicationAdministration")
MAX_ENTRIES = 500
_JSON_TYPES = ("application/fhir+json", "application/json")


@dataclass
class PatientPlan:
    ref: PatientRef
    #: the entry index of its Patient resource (None: named by identifier only)
    registered_by: int | None = None
    consents: list[tuple[int, ConsentTerms]] = field(default_factory=list)
    observations: list[tuple[int, EntryIn]] = field(default_factory=list)


@dataclass(frozen=True)
class TransactionPlan:
    #: the resource type of each entry, in order
    types: tuple[str, ...]
    patients: tuple[PatientPlan, ...]


def path_of(location: tuple[int | str, ...], root: str = "Bundle") -> str:
    """A pydantic error location as FHIRPath (``Bundle.entry[0].resource.code``)."""
    out = root
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def decode(body: bytes, content_type: str, root: str = "Bundle") -> object:
    """The request body as JSON (:class:`InvalidResource` naming the ``root`` resource if
    it is not)."""
    if content_type.split(";")[0].strip().lower() not in _JSON_TYPES:
        raise InvalidResource("send Content-Type: application/fhir+json", root)
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise InvalidResource("the body is not a JSON resource", root) from exc


def parse_bundle(body: object) -> Bundle:
    """The body as a validated Bundle (:class:`InvalidResource` naming the element)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise InvalidResource("send a Bundle (resourceType Bundle)", "Bundle.resourceType")
    try:
        return Bundle.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidResource(str(first["msg"]), path_of(tuple(first["loc"]))) from exc


def plan_transaction(
    bundle: Bundle, terms: FhirTerms, kinds: Mapping[str, ObservationKind], site: str | None
) -> TransactionPlan:
    """What the transaction asks, every resource mapped and every observation checked;
    ``site``: the caller's (the default of a patient named without one)."""
    if bundle.type != "transaction":
        raise Unsupported("POST /fhir takes a transaction Bundle", "Bundle.type")
    entries = bundle.entry or []
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise Unsupported(f"give 1 to {MAX_ENTRIES} entries", "Bundle.entry")
    patients: dict[PatientRef, PatientPlan] = {}
    by_url: dict[str, PatientRef] = {}
    types = tuple(_type_of(i, e) for i, e in enumerate(entries))
    for i, entry in enumerate(entries):  # patients first: others may name them
        if isinstance(entry.resource, Patient):
            ref = _sited(map_patient(entry.resource, terms, _at(i)), site, _at(i))
            plan = patients.setdefault(ref, PatientPlan(ref))
            plan.registered_by = i if plan.registered_by is None else plan.registered_by
            if entry.fullUrl:
                by_url[str(entry.fullUrl)] = ref
    for i, entry in enumerate(entries):
        where, resource = _at(i), entry.resource
        if isinstance(resource, Consent):
            ref = _subject(resource.patient, by_url, terms, site, f"{where}.patient")
            _plan(patients, ref).consents.append((i, map_consent(resource, terms, where)))
        elif isinstance(resource, Observation):
            ref = _subject(resource.subject, by_url, terms, site, f"{where}.subject")
            mapped = map_observation(resource, terms, kinds, where)
            _plan(patients, ref).observations.append((i, mapped))
        elif isinstance(resource, MedicationAdministration):
            ref = _subject(resource.subject, by_url, terms, site, f"{where}.subject")
            mapped = map_administration(resource, terms, where)
            _plan(patients, ref).observations.append((i, mapped))
    for plan in patients.values():
        check_observations(plan, kinds)
    return TransactionPlan(types, tuple(patients.values()))


def _at(index: int) -> str:
    return f"Bundle.entry[{index}].resource"


def _type_of(index: int, entry: Any) -> str:
    where = f"Bundle.entry[{index}]"
    if entry.resource is None:
        raise InvalidResource("a transaction entry carries a resource", f"{where}.resource")
    kind = str(entry.resource.get_resource_type())
    if kind not in RESOURCES:
        raise Unsupported(
            f"{kind} is not taken; POST /fhir takes {list(RESOURCES)}", f"{where}.resource"
        )
    request = entry.request
    if request is None or request.method != "POST" or request.url != kind:
        raise Unsupported(
            f"give request {{method: POST, url: {kind}}} (creates only)", f"{where}.request"
        )
    return kind


def _sited(ref: PatientRef, site: str | None, where: str) -> PatientRef:
    if ref.site is not None:
        return ref
    if site is None:
        raise Unsupported(
            "name the patient's site (managingOrganization): you are bound to no site",
            f"{where}.managingOrganization",
        )
    return PatientRef(ref.patient_id, site)


def _subject(
    reference: Reference | None,
    by_url: Mapping[str, PatientRef],
    terms: FhirTerms,
    site: str | None,
    where: str,
) -> PatientRef:
    if reference is not None and reference.reference is not None:
        ref = by_url.get(str(reference.reference))
        if ref is None:
            raise Unsupported(
                "reference the fullUrl of a Patient entry of this Bundle", f"{where}.reference"
            )
        return ref
    patient_id = reference_identifier(reference, terms.patient_system, where)
    if patient_id is None:
        raise Unsupported(
            f"name the patient (a Patient entry's fullUrl, or identifier {terms.patient_system})",
            where,
        )
    if site is None:
        raise Unsupported(
            "you are bound to no site: reference a Patient entry of this "
            "Bundle that names its site",
            f"{where}.identifier",
        )
    return PatientRef(patient_id, site)


def _plan(patients: dict[PatientRef, PatientPlan], ref: PatientRef) -> PatientPlan:
    return patients.setdefault(ref, PatientPlan(ref))


def check_observations(plan: PatientPlan, kinds: Mapping[str, ObservationKind]) -> None:
    """The patient's entries through the observation schema: a fault is a 422 naming the
    FHIR element its field came from."""
    if not plan.observations:
        return
    try:
        check_entries([entry.raw for _, entry in plan.observations], kinds)
    except InvalidInput as exc:
        name = exc.field or ""
        index, _, rest = name.removeprefix("observations[").partition("]")
        mapped = plan.observations[int(index)][1] if index.isdigit() else None
        where = mapped.expression(rest.removeprefix(".")) if mapped else "Bundle.entry"
        message = str(exc).split(": ", 1)[-1]
        raise Unsupported(message, where) from exc
