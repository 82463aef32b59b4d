"""The one table mapping domain errors to HTTP: JSON problem details that say what to fix."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.utils.scope.state import ScopeState

from api.errors import BadRequest, ConfigError, Unauthorized
from api.http import body_errors, refusals
from api.http.auth import record_refusal, revoked_before_its_facts
from explain import ExplainError
from governance.errors import (
    AuditWriteError,
    Conflict,
    DossierRequired,
    Forbidden,
    GovernanceError,
    InvalidInput,
    NotFound,
    PolicyError,
    StoreBusy,
    StoreUnavailable,
    TokenRevoked,
)
from governance.identity.principal import Principal
from governance.identity.revocation import REVOKED
from governance.store.db import STORE_ERRORS
from registry import (
    ArtifactTampered,
    InvalidIdentifier,
    ModelNotFound,
    RegistryError,
    RegistryUnavailable,
)

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("twinreg.api")
AUDITED_PATHS = ("/v1/predictions", "/v1/simulations")

#: (exception type, status, title) — the first match wins, so subclasses come first.
STATUS_TABLE: tuple[tuple[type[Exception], int, str], ...] = (
    (Unauthorized, 401, "Not authenticated"),
    (TokenRevoked, 401, "Not authenticated"),
    (BadRequest, 422, "Invalid request"),
    (InvalidInput, 422, "Invalid request"),
    (NotFound, 404, "Not found"),
    (Forbidden, 403, "Forbidden"),
    (DossierRequired, 409, "Validation dossier required"),
    (Conflict, 409, "Conflict"),
    (PolicyError, 503, "Policies unavailable"),
    (AuditWriteError, 503, "Audit log unavailable: nothing was released"),
    (StoreUnavailable, 503, "Governance store unavailable"),
    (StoreBusy, 503, "Governance store busy: nothing was released"),
    (GovernanceError, 500, "Governance error"),
    (ModelNotFound, 404, "Not found"),
    (InvalidIdentifier, 422, "Invalid model reference"),
    (ArtifactTampered, 409, "Artifact does not match its recorded hash"),
    (RegistryError, 503, "Registry unavailable"),
    (ExplainError, 500, "Explanation error"),
    (ConfigError, 500, "Configuration error"),
)


#: What clients are told of a store that failed; the reason (file paths, hosts, SQL) goes
#: to the server log.
_STORE_FAILURES: tuple[tuple[type[Exception], str], ...] = (
    (
        PolicyError,
        "the policies cannot be read: nothing is decided until an operator fixes them",
    ),
    (AuditWriteError, "the audit log could not be written: nothing was released"),
    (RegistryUnavailable, "the model registry did not answer: nothing was released"),
)


def public_detail(exc: Exception) -> str:
    """What the client is told of a domain error: its message, except for a store that
    failed, whose reason names files, hosts or SQL on the server."""
    for kind, detail in _STORE_FAILURES:
        if isinstance(exc, kind):
            _log.error("%s: %s", detail, exc)
            return f"{detail} (the server log says why)"
    return str(exc)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """An RFC 9457 problem document (documented as :class:`~api.http.schemas.ProblemDetails`),
    with ``headers`` (e.g. a 405's ``Allow``, a 429's ``RateLimit-*``).

    No ``instance``: the request's path would echo identifiers (a patient id) into a
    refusal, which must not carry them.
    """
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    sent = dict(headers or {})
    if status == 401:
        sent["WWW-Authenticate"] = "Bearer"
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=sent or None)


def domain_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    """The problem document of a domain error; a refusal (403, 404, 409) is audited once
    (:mod:`api.http.refusals`) and its ``audit_id`` sent along. A refusal that cannot be
    recorded is answered as the failed audit write it is (503)."""
    for kind, status, title in STATUS_TABLE:
        if isinstance(exc, kind):
            try:
                audit_id = refusals.record_once(request, exc, status)
            except AuditWriteError as failed:
                return domain_error_handler(request, failed)
            return problem(
                status,
                title,
                public_detail(exc),
                field=getattr(exc, "field", None),
                audit_id=audit_id,
            )
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "unexpected error")


def revoked_token_handler(
    request: Request[Any, Any, Any], exc: TokenRevoked
) -> Response[dict[str, Any]]:
    """A revocation found by the release gate's facts read: audited like the bearer
    middleware's refusals, then its 401."""
    record_refusal(request.app.state.twinreg, request.scope, request.method, str(exc))
    return domain_error_handler(request, exc)


def http_error_handler(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    if revoked_before_its_facts(request.scope):
        return revoked_token_handler(request, TokenRevoked(REVOKED))
    detail = str(exc.detail)
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, dict):
            key = str(first.get("key") or "")
            extra["field"] = key or None
            message = first.get("message")
            if message:
                detail = f"{detail}: {message}" + (f" (field {key})" if key else "")
    if exc.status_code == 400 and isinstance(exc.__cause__, SerializationException):
        body = ScopeState.from_scope(request.scope).body  # as read for the decoder
        explained = body_errors.explain(body) if isinstance(body, bytes) else None
        if explained is not None:
            detail, extra["field"] = explained.detail, explained.field
    if exc.status_code == 413:
        detail = "the request body is too large; send at most the configured size"
    allow = (exc.headers or {}).get("allow")
    if exc.status_code == 405 and allow:
        detail = f"{request.method} is not allowed here; this path answers {allow}"
    try:
        audit_id = _audit_refused_prediction(request, exc.status_code, detail)
    except TokenRevoked as revoked:  # found by the gate's read before it records a refusal
        return revoked_token_handler(request, revoked)
    # a refusal audited where it was raised (expensive work refused: api.http.work)
    audit_id = audit_id or getattr(exc, "audit_id", None)
    if audit_id is None and exc.status_code in refusals.BAD_INPUT_STATUSES:
        try:  # a signed-in caller's bad input on any other route
            audit_id = refusals.record_bad_input(request, exc.status_code, detail)
        except AuditWriteError as failed:
            return domain_error_handler(request, failed)
    return problem(
        exc.status_code,
        _title(exc.status_code),
        detail,
        # Litestar's own: a 405's Allow (RFC 9110 requires it), a 429's RateLimit-* fields.
        headers=exc.headers,
        audit_id=audit_id,
        **extra,
    )


def _audit_refused_prediction(
    request: Request[Any, Any, Any], status: int, detail: str
) -> str | None:
    """A prediction request refused before its handler ran is still audited."""
    if request.scope.get("path") not in AUDITED_PATHS or status not in (400, 413, 415, 422):
        return None
    user = request.scope.get("user")
    principal = user if isinstance(user, Principal) else None
    service = request.app.state.twinreg
    audit_id: str = service.gate.record_refusal(
        principal, "prediction", {"reason": detail, "status": status}
    )
    return audit_id


def _title(status: int) -> str:
    return {
        400: "Bad request",
        401: "Not authenticated",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        413: "Request body too large",
        415: "Unsupported media type",
        422: "Invalid request",
        429: "Too many requests",
        503: "Service unavailable",
    }.get(status, "Error")


def route_of(request: Request[Any, Any, Any]) -> str:
    """The request's route as the server log names it: its template
    (``/v1/patients/{patient_id}/consents``), never the path, which may hold a patient id."""
    return str(request.scope.get("path_template") or "an unknown route")


def unexpected_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    """Anything unforeseen: a problem document, the details only in the server log."""
    _log.error("unexpected error on %s %s", request.method, route_of(request), exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "unexpected error; nothing was released"
    )


#: What a client is told of a governance database that failed outside a decision.
STORE_FAILED = (
    "the governance store could not be used: nothing was changed (the server log says why)"
)


def store_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    """A database error outside a decision (which raises StoreUnavailable itself): 503
    naming the governance store; its SQL, paths and hosts go to the server log only."""
    _log.error("the governance store failed on %s %s: %s", request.method, route_of(request), exc)
    return problem(503, "Governance store unavailable", STORE_FAILED)


def nesting_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """A body nested deeper than the decoder recurses (msgspec raises RecursionError, not a
    decoding error): bad input, answered and audited as such. Any other recursion is a bug."""
    state = ScopeState.from_scope(request.scope)
    if not isinstance(state.body, bytes) or isinstance(state.json, dict | list):
        return unexpected_error_handler(request, exc)  # not the body's decoding
    if revoked_before_its_facts(request.scope):
        return revoked_token_handler(request, TokenRevoked(REVOKED))
    detail = "the body is nested too deeply; send the request's flat JSON object"
    try:
        audit_id = _audit_refused_prediction(request, 400, detail)
    except TokenRevoked as revoked:
        return revoked_token_handler(request, revoked)
    return problem(400, _title(400), detail, audit_id=audit_id)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    Exception: unexpected_error_handler,
    **dict.fromkeys(STORE_ERRORS, store_error_handler),
    RecursionError: nesting_handler,
    HTTPException: http_error_handler,
    GovernanceError: domain_error_handler,
    TokenRevoked: revoked_token_handler,
    RegistryError: domain_error_handler,
    ExplainError: domain_error_handler,
    Unauthorized: domain_error_handler,
    BadRequest: domain_error_handler,
    ConfigError: domain_error_handler,
}
