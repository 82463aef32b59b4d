"""The CapabilityStatement of ``GET /fhir/metadata``: exactly what /fhir does.

:data:`SEARCHES` lists each resource type read by a search (``GET /fhir/<type>``) with its
search parameters; :data:`OPERATIONS` each operation (``POST /fhir/<type>/$<name>``);
:data:`TRANSACTION_TYPES` the types a transaction Bundle may create.
The controller's routes are these and no other (a test compares them with the app's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from api.fhir.bundle import RESOURCES
from api.fhir.outcome import as_json

FHIR_VERSION = "4.0.1"
#: When this statement last changed (its ``date``).
PUBLISHED = "2026-12-07"


@dataclass(frozen=True)
class Search:
    type: str
    documentation: str
    #: (name, FHIR search type, documentation)
    params: tuple[tuple[str, str, str], ...]


_PATIENT = ("patient", "token", "the pseudonymous patient id at your site")
_TWIN = ("twin", "token", "the patient twin's id")
_SITE = ("site", "token", "the patient's site, for a caller bound to no site (admin)")

#: Every search route, in the order the statement lists them.
SEARCHES: tuple[Search, ...] = (
    Search(
        "Observation",
        "a patient twin's forecasts, one Observation per quantity (vancomycin AUC24 and "
        "concentration curve; glucose mean, time in range, plasma and CGM curves; blood "
        "pressures at start and horizon; tumour volume at the horizon): the value, its 90 % "
        "interval (components low-90 / high-90), the explanation's top contributions, the "
        "model version, the audit record",
        (_PATIENT, _TWIN, _SITE),
    ),
    Search(
        "MedicationRequest",
        "a patient twin's recommended regimens (intent proposal, "
        "probability of target attainment, AUC24 and its interval, the model version)",
        (_PATIENT, _TWIN, _SITE),
    ),
    Search(
        "Provenance",
        "each state of a patient twin: the observations it used, the model version",
        (_PATIENT, _TWIN, _SITE),
    ),
    Search(
        "AuditEvent",
        "the audit log (ethics board); patients by keyed hash only",
        (
            ("date", "date", "ge<instant> and/or lt<instant>"),
            ("_count", "number", "at most 1000 events (default 100)"),
        ),
    ),
)

TRANSACTION_TYPES = RESOURCES


@dataclass(frozen=True)
class Operation:
    """A type-level operation: ``POST /fhir/<type>/$<name>``."""

    type: str
    name: str
    documentation: str

    @property
    def definition(self) -> str:
        """Its canonical (twinreg serves no OperationDefinition: the README describes it)."""
        return f"urn:twinreg:fhir:OperationDefinition:{self.type}-{self.name}"


#: Every operation route.
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "RiskAssessment",
        "predict",
        "a prediction through the release gate (Parameters: model, version?, purpose, "
        "patient, feature*) -> a RiskAssessment (outcome, probability or value, the model "
        "version, the explanation's top contributions, the audit record); withheld: 403 "
        "OperationOutcome naming each failing check",
    ),
)


def capability_statement() -> dict[str, Any]:
    """The statement, validated, as JSON."""
    resources: dict[str, dict[str, Any]] = {}
    for kind in TRANSACTION_TYPES:
        resources[kind] = {
            "type": kind,
            "documentation": "created by a transaction Bundle (POST /fhir); see the README",
        }
    for search in SEARCHES:
        entry = resources.setdefault(search.type, {"type": search.type})
        entry["documentation"] = search.documentation
        entry["interaction"] = [{"code": "search-type"}]
        entry["searchParam"] = [
            {"name": n, "type": t, "documentation": d} for n, t, d in search.params
        ]
    for operation in OPERATIONS:
        entry = resources.setdefault(operation.type, {"type": operation.type})
        entry.setdefault("documentation", operation.documentation)
        entry.setdefault("operation", []).append(
            {"name": operation.name, "definition": operation.definition,
             "documentation": operation.documentation}
        )  # fmt: skip
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": PUBLISHED,
        "kind": "instance",
        "software": {"name": "twinreg"},
        "implementation": {"description": "twinreg: governed, explained patient twins"},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Same bearer tokens and roles as /v1; errors are "
                "OperationOutcomes; every refusal and read of patient data is audited.",
                "security": {
                    "description": "Authorization: Bearer <token> (twinreg token); "
                    "GET /fhir/metadata needs none"
                },
                "interaction": [{"code": "transaction"}],
                "resource": list(resources.values()),
            }
        ],
    }
    return as_json(CapabilityStatement.model_validate(statement))
