"""The page session: a signed token kept in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jwt
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from api.composition.service import TwinregService
from api.composition.tokens import read_token
from api.errors import Unauthorized
from api.http.auth import refusal_reason, refuse_credentials
from governance.errors import PolicyError
from governance.identity.principal import Principal

SESSION_COOKIE = "twinreg_session"
PAGES = "/ui"
#: A page handler's ``opt`` key: the page reads no session (the sign-in page).
NO_SESSION = "no_session"


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
        refuse_credentials(service, scope, "page", refusal_reason(exc))
        raise


class PageSession(ASGIMiddleware):
    """Reads the session before anything else a page does — the CSRF check, the form, the
    decision: a revoked, expired or forged session token goes back to sign-in (its refusal
    audited) whatever the request carries. A valid one is kept as ``request.state.principal``
    for the page (one read per request). The sign-in page itself, which takes a new token,
    opts out with :data:`NO_SESSION`."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = NO_SESSION

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = ASGIConnection[Any, Any, Any, Any](scope).cookies.get(SESSION_COOKIE)
        if token:
            service: TwinregService = scope["app"].state.twinreg
            scope.setdefault("state", {})["principal"] = authenticate(service, token, scope)
        await next_app(scope, receive, send)


async def provide_page_principal(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in principal (read by :class:`PageSession`), or :class:`Unauthorized`
    (answered with the sign-in page)."""
    principal = signed_in(request)
    if principal is None:
        raise Unauthorized("sign in with a token from 'twinreg token'")
    return principal


def signed_in(request: Request[Any, Any, Any]) -> Principal | None:
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else None


def navigation_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """Who to show the navigation of on an error page: the session's principal, also for
    an error raised before :class:`PageSession` ran (no page at that address, a method no
    page takes). Read quietly: nothing is granted by it, so an unusable cookie is simply no
    one (refusals of sessions are audited where a page is asked for), and a store that
    fails while the error page is drawn (the error may be that store's) is no one too."""
    principal = signed_in(request)
    token = request.cookies.get(SESSION_COOKIE)
    if principal is not None or not token:
        return principal
    service = service_of(request)
    try:
        return read_token(
            service.token_key, token, service.policies.current().roles, service.is_revoked
        )
    except Exception:
        return None


def session_cookie(request: Request[Any, Any, Any], token: str) -> Cookie:
    """The cookie that keeps ``token``: it expires with the token, scripts cannot read it
    and no other site's form or link sends it (``Secure`` over https: every cookie of the
    pages is marked so in one place, :mod:`api.http.pages.security`)."""
    expires = int(jwt.decode(token, options={"verify_signature": False})["exp"])
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path=PAGES,
        max_age=max(0, expires - int(time.time())),
        httponly=True,
        samesite="strict",
    )


def cleared_cookie(request: Request[Any, Any, Any]) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path=PAGES,
        max_age=0,
        httponly=True,
        samesite="strict",
    )


def sign_in_location(path: str, query: str = "") -> str:
    """The sign-in page that returns to ``path`` (with its ``query``: where the user was
    going) once signed in."""
    going = f"{path}?{query}" if query else path
    return f"{PAGES}/sign-in?next={quote(going, safe='/')}"


def safe_next(target: str | None) -> str:
    """Only a same-origin relative path of our own pages (under ``/ui/``, query allowed)
    may be a post-sign-in destination; anything else goes home (no open redirect): a
    scheme or host (``https://...``, ``//evil``), a backslash (``/\\evil``: browsers read it
    as ``/``), ``//`` in the path, a control character (browsers drop tabs and newlines),
    or a ``.``/``..`` segment, even percent-encoded (``/ui/%2e%2e/``), that would leave
    ``/ui/``."""
    home = PAGES + "/"
    if not target or len(target) > 2000 or "\\" in target:
        return home
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return home
    parts = urlsplit(target)
    segments = unquote(parts.path).split("/")
    if parts.scheme or parts.netloc or not parts.path.startswith(home) or "//" in parts.path:
        return home
    if any(s in (".", "..") for s in segments) or "\\" in unquote(parts.path):
        return home
    return target
