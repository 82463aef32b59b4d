"""Audit records -> AuditEvents (``GET /fhir/AuditEvent``, the ethics board's). A record
names patients only by their keyed hash, and so does its AuditEvent: ``entity.what`` an
identifier of system :data:`PATIENT_KEY_SYSTEM`. The record's own id, sequence number and
chain hashes are its entity's details, so an event can be checked against the chain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent

from api.fhir.outcome import as_json

ACTION_SYSTEM = "urn:twinreg:audit-action"
PATIENT_KEY_SYSTEM = "urn:twinreg:patient-key"
RECORD_SYSTEM = "urn:twinreg:audit-record"
USER_SYSTEM = "urn:twinreg:user"
#: Scalar fields of a record said as its entity's details (never patient values).
_DETAILS = ("seq", "hash", "prev_hash", "model", "model_version", "purpose", "decision",
            "policy_version", "reason", "status", "path", "method", "site", "twin")  # fmt: skip
_REFUSED = ("refused", "withheld", "failed")


def _outcome(record: Mapping[str, Any]) -> str:
    """0 success, 4 minor failure (a refusal or withheld decision)."""
    refused = record.get("decision") == "withheld" or any(
        str(record["action"]).endswith(word) for word in _REFUSED
    )
    return "4" if refused else "0"


def _agent(record: Mapping[str, Any]) -> dict[str, Any]:
    principal = record.get("principal")
    if isinstance(principal, dict) and principal.get("user"):
        agent: dict[str, Any] = {
            "who": {"identifier": {"system": USER_SYSTEM, "value": str(principal["user"])}},
            "requestor": True,
            "role": [{"text": str(principal.get("role"))}],
        }
        return agent
    actor = record.get("actor")
    display = f"{actor}" if actor else "unauthenticated or the server itself"
    return {"who": {"display": display}, "requestor": actor is not None}


def audit_event(record: Mapping[str, Any]) -> dict[str, Any]:
    """One audit record as a validated AuditEvent (JSON)."""
    details = [
        {"type": name, "valueString": str(record[name])}
        for name in _DETAILS
        if record.get(name) not in (None, "", [])
    ]
    entities: list[dict[str, Any]] = [
        {"what": {"identifier": {"system": RECORD_SYSTEM, "value": str(record["record_id"])}},
         "detail": details}
    ]  # fmt: skip
    if isinstance(record.get("patient"), str):
        entities.append({
            "what": {"identifier": {"system": PATIENT_KEY_SYSTEM, "value": record["patient"]}},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                     "code": "1"},
        })  # fmt: skip
    event = {
        "resourceType": "AuditEvent",
        "id": str(record["record_id"]),
        "type": {"system": ACTION_SYSTEM, "code": str(record["action"])},
        "action": "R" if str(record["action"]).endswith(".read") else "E",
        "recorded": str(record["at"]),
        "outcome": _outcome(record),
        "agent": [_agent(record)],
        "source": {"observer": {"display": "twinreg"}},
        "entity": entities,
    }
    return as_json(AuditEvent.model_validate(event))
