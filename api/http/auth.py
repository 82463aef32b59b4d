"""Bearer-token authentication: token -> :class:`~governance.identity.principal.Principal`.

Failures are 401 problem details and are written to the audit log.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Scope

from api.composition.service import TwinregService
from api.composition.tokens import read_token
from api.errors import Unauthorized
from api.http.refusal_limit import standing_of
from governance.errors import PolicyError
from governance.identity.principal import Principal

#: Paths served without a token (their requests are rate-limited per client address; the
#: FHIR CapabilityStatement is public, as FHIR servers serve it: it says no patient data).
PUBLIC_PATHS = ("/health", "/schema", "/static", "/fhir/metadata")
#: A route handler ``opt`` key: the handler's decision reads the token's revocation in the
#: release gate's facts read (one snapshot with the consents), so the middleware does not
#: read it a second time. Every other route's request reads it here.
REVOCATION_IN_FACTS = "revocation_in_facts"


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        service: TwinregService = connection.app.state.twinreg
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized(
                    "send 'Authorization: Bearer <token>' (twinreg token prints one)"
                )
            roles = service.policies.current().roles
            handler = connection.scope.get("route_handler")
            in_facts = handler is not None and handler.opt.get(REVOCATION_IN_FACTS, False)
            is_revoked = None if in_facts else service.is_revoked
            principal = read_token(service.token_key, token.strip(), roles, is_revoked)
        except (Unauthorized, PolicyError) as exc:
            method = connection.scope.get("method")  # none on a websocket
            # on a worker thread: the audit record may wait for the database's lock
            await to_thread.run_sync(
                refuse_credentials,
                service,
                connection.scope,
                method if isinstance(method, str) else None,
                refusal_reason(exc),
            )
            raise
        return AuthenticationResult(user=principal, auth=token)


def refusal_reason(exc: Unauthorized | PolicyError) -> str:
    """Why credentials were refused: their fault, or no readable policies (no role is then
    known, so nothing can be authorised: 503)."""
    return f"policies unavailable: {exc}" if isinstance(exc, PolicyError) else str(exc)


def refuse_credentials(
    service: TwinregService, scope: Scope, method: str | None, reason: str
) -> None:
    """A request's credentials were refused: audited (:func:`record_refusal`), unless its
    client address is over its limit of refusals — then counted in the address's tally
    and answered 429 (:mod:`api.http.refusal_limit`)."""
    standing = standing_of(scope)
    if standing is not None:
        standing.refuse(_route(scope))  # raises 429 over the limit
    record_refusal(service, scope, method, reason)


def _route(scope: Scope) -> str:
    return str(scope.get("path_template") or scope["path"])


def record_refusal(service: TwinregService, scope: Scope, method: str | None, reason: str) -> None:
    """The audit record of a request refused for its credentials (``method`` is "page"
    for a page's session).

    The route is recorded by its template (``/v1/patients/{patient_id}/consents``),
    never by the path the client sent: a patient id in a path is recorded only as its keyed
    hash, like everywhere else in the log.
    """
    body = route_record(service, scope)
    service.audit.append("auth.refused", {**body, "method": method, "reason": reason})


def route_record(service: TwinregService, scope: Scope) -> dict[str, Any]:
    """What a refusal's audit record says of its request: the route's template, and the
    keyed pseudonym of a patient id in its path (never the id itself)."""
    body: dict[str, Any] = {"path": _route(scope)}
    patient_id = (scope.get("path_params") or {}).get("patient_id")
    if isinstance(patient_id, str):
        body["patient"] = service.pseudonymiser.patient_key(patient_id)
    return body


def revoked_before_its_facts(scope: Scope) -> bool:
    """Whether a request refused before the release gate read its facts carries a revoked
    token, on a route that leaves revocation to that read (:data:`REVOCATION_IN_FACTS`).

    Revocation comes before everything else: a body that cannot be decoded, a rate limit,
    any refusal before the facts read reads the token's revocation here first (on the
    refusal's path only: the decisions themselves keep their single read).
    """
    handler = scope.get("route_handler")
    user = scope.get("user")
    if handler is None or not handler.opt.get(REVOCATION_IN_FACTS, False):
        return False
    if not isinstance(user, Principal) or user.token_id is None:
        return False
    assert user.token_issued_at is not None  # a token's principal carries both
    service: TwinregService = scope["app"].state.twinreg
    return service.is_revoked(user.token_id, user.user, user.token_issued_at)


def principal_of(request: Any) -> Principal:
    user = request.user
    assert isinstance(user, Principal)
    return user
