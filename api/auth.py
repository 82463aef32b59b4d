"""Bearer-token authentication: token -> :class:`~governance.principal.Principal`.

Failures are 401 problem details and are written to the audit log.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from api.errors import Unauthorized
from api.service import TwinregService
from api.tokens import read_token
from governance.principal import Principal

PUBLIC_PATHS = ("/health", "/schema", "/static")


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
            principal = read_token(service.token_key, token.strip(), roles, service.is_revoked)
        except Unauthorized as exc:
            service.audit.append(
                "auth.refused",
                {
                    "path": connection.url.path,
                    "method": connection.scope.get("method"),
                    "reason": str(exc),
                },
            )
            raise
        return AuthenticationResult(user=principal, auth=token)


def principal_of(request: Any) -> Principal:
    user = request.user
    assert isinstance(user, Principal)
    return user
