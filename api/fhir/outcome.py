"""OperationOutcome: how /fhir says what went wrong (or, informational, what happened)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

FHIR_JSON = "application/fhir+json"
#: The extension carrying the id of the audit record of a refusal or of a write.
AUDIT_EXTENSION = "urn:twinreg:fhir:audit-record"

#: HTTP status -> the issue type (http://hl7.org/fhir/issue-type) of its OperationOutcome.
ISSUE_TYPES: dict[int, str] = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    503: "transient",
}


def audit_extension(audit_id: str | None) -> list[dict[str, Any]]:
    return [] if audit_id is None else [{"url": AUDIT_EXTENSION, "valueString": audit_id}]


def operation_outcome(
    status: int,
    diagnostics: str,
    expression: str | None = None,
    audit_id: str | None = None,
    severity: str = "error",
) -> dict[str, Any]:
    """The OperationOutcome of an answer with ``status`` (validated, as JSON)."""
    issue: dict[str, Any] = {
        "severity": severity,
        "code": ISSUE_TYPES.get(status, "exception")
        if severity != "information"
        else "informational",
        "diagnostics": diagnostics,
    }
    if expression:
        issue["expression"] = [expression]
    body: dict[str, Any] = {"resourceType": "OperationOutcome", "issue": [issue]}
    extension = audit_extension(audit_id)
    if extension:
        body["extension"] = extension
    return as_json(OperationOutcome.model_validate(body))


def as_json(resource: Any) -> dict[str, Any]:
    """A validated fhir.resources model as FHIR JSON (no empty elements)."""
    out: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True, by_alias=True)
    return out


#: The system of the codes naming the release gate's checks (``details.coding``).
CHECK_SYSTEM = "urn:twinreg:release-check"


def withheld_outcome(reasons: Sequence[Mapping[str, str]], audit_id: str) -> dict[str, Any]:
    """A withheld decision (403): one issue per failing check of the release gate, the
    check coded in ``details`` and said in ``diagnostics``; nothing of the result."""
    issues = [
        {"severity": "error", "code": "forbidden",
         "details": {"coding": [{"system": CHECK_SYSTEM, "code": r["check"]}],
                     "text": r["detail"]},
         "diagnostics": f"withheld by the release gate: check {r['check']} failed: "
                        f"{r['detail']}"}
        for r in reasons
    ]  # fmt: skip
    body = {"resourceType": "OperationOutcome", "extension": audit_extension(audit_id),
            "issue": issues}  # fmt: skip
    return as_json(OperationOutcome.model_validate(body))
