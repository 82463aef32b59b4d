"""Every refusal is recorded, once: the audit record of a domain error answered 403, 404
or 409 that its raiser did not record itself.

A refusal for the caller's role or site, an identifier that names nothing the caller may
see ("not yours" and "not found" alike), the four-eyes rule, or a state that forbids the
action: each answer leaves one audit record. Where the domain knows more (the patient's
keyed pseudonym, the policy line), it records the refusal itself and says so with the
error's ``audit_id``; every other refusal is recorded here, where the error meets HTTP,
as ``request.refused``: who (the principal), the route by its template and method (never
the path, which may hold a patient id: a patient id in the path is recorded only as its
keyed pseudonym, like ``auth.refused``), the status and the reason.

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


def record_once(request: Request[Any, Any, Any], exc: Exception, status: int) -> str | None:
    """The audit id of the refusal ``exc`` answered with ``status``: the raiser's record,
    or one written now. None for an answer that is not a refusal."""
    recorded: str | None = getattr(exc, "audit_id", None)
    if recorded is not None or status not in REFUSAL_STATUSES:
        return recorded
    service = request.app.state.twinreg
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        user = getattr(request.state, "principal", None)  # a page's session
    body = {
        "principal": user.to_audit() if isinstance(user, Principal) else None,
        **route_record(service, request.scope),
        "method": request.method,
        "status": status,
        "reason": str(exc),
    }
    record_id: str = service.audit.append("request.refused", body).record_id
    return record_id
