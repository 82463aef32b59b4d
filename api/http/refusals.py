"""Every refusal is recorded, once: the audit record of a domain error answered 403, 404
or 409 that its raiser did not record itself, and of a signed-in caller's bad input
(400, 413, 415, 422) on any route.

A refusal for the caller's role or site, an identifier that names nothing the caller may
see ("not yours" and "not found" alike), the four-eyes rule, or a state that forbids the
action: each answer leaves one audit record. Where the domain knows more (the patient's
keyed pseudonym, the policy line), it records the refusal itself and says so with the
error's ``audit_id``; every other refusal is recorded here, where the error meets HTTP,
as ``request.refused``: who (the principal), the route by its template and method (never
the path, which may hold a patient id: a patient id in the path is recorded only as its
keyed pseudonym, like ``auth.refused``), the status and the reason.

Bad input is recorded only for a signed-in caller: a request without valid credentials is
refused before its input is looked at (``auth.refused``, limited per client address).
Predictions and simulations record their own bad input (``prediction.refused``), with the
model and purpose.

Fail closed: a record that cannot be written raises :class:`AuditWriteError`, which the
handler answers as every failed audit write (503, nothing else said).
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.http.auth import route_record
from governance.identity.principal import Principal

#: The statuses of a refusal: authorization (403), ownership or existence (404), state (409).
REFUSAL_STATUSES = (403, 404, 409)
#: The statuses of bad input: a body or parameter that does not decode, fit or validate.
BAD_INPUT_STATUSES = (400, 413, 415, 422)


def record_once(request: Request[Any, Any, Any], exc: Exception, status: int) -> str | None:
    """The audit id of the refusal ``exc`` answered with ``status``: the raiser's record,
    or one written now. None for an answer that is not a refusal."""
    recorded: str | None = getattr(exc, "audit_id", None)
    if recorded is not None:
        return recorded
    if status in BAD_INPUT_STATUSES:
        return record_bad_input(request, status, str(exc))
    if status not in REFUSAL_STATUSES:
        return None
    return _record(request, _principal(request), status, str(exc))


def record_bad_input(request: Request[Any, Any, Any], status: int, detail: str) -> str | None:
    """The audit id of a signed-in caller's request refused for its input; None (nothing
    written) when nobody is signed in. A path quoted in ``detail`` (Litestar's "Validation
    failed for POST /v1/patients/<id>/...") is recorded as the route's template: a
    patient id never enters the log in the clear."""
    principal = _principal(request)
    if principal is None:
        return None
    route = route_record(request.app.state.twinreg, request.scope)["path"]
    reason = detail.replace(str(request.scope["path"]), str(route))
    return _record(request, principal, status, reason)


def _principal(request: Request[Any, Any, Any]) -> Principal | None:
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        user = getattr(request.state, "principal", None)  # a page's session
    return user if isinstance(user, Principal) else None


def _record(
    request: Request[Any, Any, Any], user: Principal | None, status: int, reason: str
) -> str:
    service = request.app.state.twinreg
    body = {
        "principal": user.to_audit() if user is not None else None,
        **route_record(service, request.scope),
        "method": request.method,
        "status": status,
        "reason": reason,
    }
    record_id: str = service.audit.append("request.refused", body).record_id
    return record_id
