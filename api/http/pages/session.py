"""The page session: a signed token kept in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import jwt
from litestar import Request
from litestar.datastructures import Cookie
from litestar.types import Scope

from api.composition.service import TwinregService
from api.composition.tokens import read_token
from api.errors import Unauthorized
from api.http.auth import record_refusal, refusal_reason
from governance.errors import PolicyError
from governance.identity.principal import Principal

SESSION_COOKIE = "twinreg_session"
PAGES = "/ui"


def service_of(request: Request[Any, Any, Any]) -> TwinregService:
    service: TwinregService = request.app.state.twinreg
    return service


def authenticate(service: TwinregService, token: str, scope: Scope) -> Principal:
    """The principal of ``token`` (signature, expiry, role, revocation); refusals are
    audited like the API's."""
    try:
        return read_token(
            service.token_key, token, service.policies.current().roles, service.is_revoked
        )
    except (Unauthorized, PolicyError) as exc:
        record_refusal(service, scope, "page", refusal_reason(exc))
        raise


async def provide_page_principal(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in principal, or :class:`Unauthorized` (answered with the sign-in page)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized("sign in with a token from 'twinreg token'")
    principal = authenticate(service_of(request), token, request.scope)
    request.state.principal = principal
    return principal


def session_cookie(request: Request[Any, Any, Any], token: str) -> Cookie:
    """The cookie that keeps ``token``: it expires with the token, scripts cannot read it
    and no other site's form or link sends it."""
    expires = int(jwt.decode(token, options={"verify_signature": False})["exp"])
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path=PAGES,
        max_age=max(0, expires - int(time.time())),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def cleared_cookie(request: Request[Any, Any, Any]) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path=PAGES,
        max_age=0,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def sign_in_location(path: str) -> str:
    return f"{PAGES}/sign-in?next={quote(path, safe='/')}"


def safe_next(target: str | None) -> str:
    """Only a path of our own pages may be a post-sign-in destination (no open redirect)."""
    if target and target.startswith(PAGES + "/") and "//" not in target and "\\" not in target:
        return target
    return PAGES + "/"
