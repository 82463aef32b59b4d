"""The FHIR read routes: a patient twin's forecasts, recommendations and states (through
``twins.thread``: the read is authorised and audited as ``twin.thread.read``), and the
audit log as AuditEvents (through ``audit_records``: the ethics board's, audited as
``audit.read``). Each answer is a searchset Bundle whose resources validate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B.bundle import Bundle

from api.fhir.audit_events import audit_event
from api.fhir.errors import Unsupported
from api.fhir.forecast_kinds import forecast_observations
from api.fhir.outcome import as_json
from api.fhir.twin_resources import recommendation_request, state_provenance, versions_of
from governance.identity.principal import Principal

if TYPE_CHECKING:
    from api.composition.service import TwinregService

MAX_EVENTS = 1000


def searchset(resources: Sequence[dict[str, Any]], audit_id: str | None) -> dict[str, Any]:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {"fullUrl": f"urn:twinreg:{r['resourceType']}:{r['id']}", "resource": r,
             "search": {"mode": "match"}}
            for r in resources
        ],
    }  # fmt: skip
    if audit_id is not None:  # the read's own record (a Bundle has no extension)
        bundle["meta"] = {"tag": [{"system": "urn:twinreg:fhir:audit-record", "code": audit_id}]}
    return as_json(Bundle.model_validate(bundle))


def patient_id_of(value: str) -> str:
    """``patient=``: the id, or ``Patient/<id>``."""
    return value.removeprefix("Patient/")


def twin_search(
    service: TwinregService,
    principal: Principal,
    resource: str,
    patient: str,
    twin: str,
    site: str | None = None,
) -> dict[str, Any]:
    """The twin's forecasts (Observation), recommendations (MedicationRequest) or states
    (Provenance), from its thread (authorised and audited there); ``site``: the patient's,
    named by a caller bound to none."""
    patient_id = patient_id_of(patient)
    view, records, audit_id = service.twins.thread(principal, patient_id, twin, site)
    terms = service.policies.current().fhir_terms
    versions = versions_of(view, [r for r in records if r.kind == "move"])
    found: list[dict[str, Any] | None] = []
    for record in records:
        version = versions.get(record.number or 0, view.model_version)
        if resource == "Observation" and record.kind == "forecast":
            found.extend(forecast_observations(view, version, record, terms, patient_id))
        elif resource == "MedicationRequest" and record.kind == "recommendation":
            found.append(recommendation_request(view, version, record, terms, patient_id))
        elif resource == "Provenance" and record.kind == "state":
            found.append(state_provenance(view, version, record, terms))
    return searchset([r for r in found if r is not None], audit_id)


#: ``date=`` prefixes: since (inclusive) and until (exclusive).
_PREFIXES: dict[str, Callable[[datetime], tuple[str, datetime]]] = {
    "ge": lambda t: ("since", t),
    "lt": lambda t: ("until", t),
}


def date_bounds(values: Sequence[str]) -> dict[str, datetime]:
    """``date=ge<instant>`` and ``date=lt<instant>`` (RFC 3339 with a zone)."""
    bounds: dict[str, datetime] = {}
    for value in values:
        prefix, text = value[:2], value[2:]
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if prefix not in _PREFIXES or when is None or when.tzinfo is None:
            raise Unsupported("give date=ge<instant> and/or date=lt<instant> (RFC 3339 with "
                              "a zone)", "date")  # fmt: skip
        name, bound = _PREFIXES[prefix](when)
        bounds[name] = bound
    return bounds


def audit_events(
    service: TwinregService, principal: Principal, dates: Sequence[str], count: int
) -> dict[str, Any]:
    """The audit records in the period as AuditEvents (the read itself audited)."""
    bounds = date_bounds(dates)
    records = service.audit_records(principal, **bounds, limit=count, offset=0)
    return searchset([audit_event(r) for r in records], None)
