"""Errors under ``/fhir`` are OperationOutcomes (``application/fhir+json``), audited like
every other refusal: a FHIR resource that cannot be taken (:class:`api.fhir.errors.FhirError`:
400 when it does not validate, 422 when it names what twinreg cannot map) is recorded as a
signed-in caller's bad input (``request.refused``, :mod:`api.http.refusals`); every other
error is answered by the API's table (which records it as it does on ``/v1``) and its
problem document is then said as an OperationOutcome: status, detail, the field as the
issue's expression, the audit record's id as an extension."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from api.fhir.errors import FhirError, InvalidResource
from api.fhir.outcome import FHIR_JSON, operation_outcome
from api.http import refusals
from api.http.off_loop import Handler
from governance.errors import AuditWriteError

FHIR_PATH = "/fhir"


def is_fhir(path: str) -> bool:
    return path == FHIR_PATH or path.startswith(FHIR_PATH + "/")


def fhir_status(exc: FhirError) -> int:
    return 400 if isinstance(exc, InvalidResource) else 422


def for_fhir(api_answer: Handler) -> Handler:
    """``api_answer`` (the app's error answer), saying errors on ``/fhir`` as FHIR."""

    def answer(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        if not is_fhir(request.scope["path"]):
            return api_answer(request, exc)
        if isinstance(exc, FhirError):
            try:
                return _refused(request, exc)
            except AuditWriteError as failed:
                exc = failed  # answered as every failed audit write
        return as_outcome(api_answer(request, exc))

    return answer


def _refused(request: Request[Any, Any, Any], exc: FhirError) -> Response[Any]:
    status = fhir_status(exc)
    audit_id = refusals.record_bad_input(request, status, str(exc))
    body = operation_outcome(status, str(exc), exc.expression, audit_id)
    return Response(body, status_code=status, media_type=FHIR_JSON)


def as_outcome(problem: Response[Any]) -> Response[Any]:
    """A problem document's answer said as an OperationOutcome (headers kept)."""
    content = problem.content if isinstance(problem.content, dict) else {}
    detail = str(content.get("detail") or content.get("title") or "error")
    field = content.get("field")
    status = problem.status_code or 500
    body = operation_outcome(
        status,
        detail,
        str(field) if field else None,
        content.get("audit_id"),
    )
    headers = {k: v for k, v in problem.headers.items() if k.lower() != "content-type"}
    return Response(body, status_code=status, media_type=FHIR_JSON, headers=headers)
