"""Errors on pages: a page that says what went wrong, or the sign-in page.

The status and title come from the API's one mapping table, so a page refuses exactly
what the JSON API refuses, with the same status code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from api.errors import ApiError, Unauthorized
from api.http.auth import record_refusal
from api.http.pages.error_words import http_detail, http_title, ways_back
from api.http.pages.render import page
from api.http.pages.security import is_page
from api.http.pages.session import (
    cleared_cookie,
    navigation_principal,
    service_of,
    sign_in_location,
)
from api.http.problems import STATUS_TABLE, STORE_FAILED, public_detail, route_of
from api.http.refusals import BAD_INPUT_STATUSES, record_bad_input, record_once
from explain import ExplainError
from governance.errors import AuditWriteError, GovernanceError, TokenRevoked
from governance.store.db import STORE_ERRORS
from registry import RegistryError

_log = logging.getLogger("twinreg.pages")


def unauthorized(request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    """No valid session: back to the sign-in page, with any stale cookie removed."""
    query = request.url.query if request.method == "GET" else ""
    redirect = Redirect(sign_in_location(request.url.path, query), status_code=303)
    redirect.cookies.append(cleared_cookie(request))
    return redirect


def revoked(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The session's token was revoked while its request was being decided (the release
    gate's facts read found it): audited like any refusal, then back to sign-in."""
    record_refusal(service_of(request), request.scope, "page", str(exc))
    return unauthorized(request, exc)


def domain_error(request: Request[Any, Any, Any], exc: Exception) -> Template:
    """The page of a domain error; a refusal is audited once (a refusal that cannot be
    recorded is the failed audit write's page, 503)."""
    for kind, status, title in STATUS_TABLE:
        if isinstance(exc, kind):
            try:
                audit_id = record_once(request, exc, status)
            except AuditWriteError as failed:
                return domain_error(request, failed)
            return _error_page(request, status, title, public_detail(exc), audit_id)
    return unexpected(request, exc)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Template:
    """An error Litestar raised (no such page, method, unreadable parameter, CSRF): its
    page, in words; a signed-in session's bad input is audited as on the JSON API."""
    detail = http_detail(request, exc)
    audit_id = getattr(exc, "audit_id", None)
    if audit_id is None and exc.status_code in BAD_INPUT_STATUSES:
        try:
            audit_id = record_bad_input(request, exc.status_code, detail)
        except AuditWriteError as failed:
            return domain_error(request, failed)
    response = _error_page(request, exc.status_code, http_title(exc.status_code), detail, audit_id)
    response.headers.update(exc.headers or {})  # a 405's Allow, a 429's RateLimit-*
    return response


def store_failed(request: Request[Any, Any, Any], exc: Exception) -> Template:
    _log.error("the governance store failed on %s %s: %s", request.method, route_of(request), exc)
    return _error_page(request, 503, "Governance store unavailable", STORE_FAILED, None)


def unexpected(request: Request[Any, Any, Any], exc: Exception) -> Template:
    _log.error("unexpected error on %s %s", request.method, route_of(request), exc_info=exc)
    return _error_page(
        request, 500, "Internal error", "unexpected error; nothing was released", None
    )


def _error_page(
    request: Request[Any, Any, Any], status: int, title: str, detail: str, audit_id: str | None
) -> Template:
    principal = navigation_principal(request)
    return page(
        "error.html",
        principal,
        status=status,
        code=status,
        title=title,
        detail=detail,
        audit_id=audit_id,
        ways_back=ways_back(str(request.scope.get("path", "")), principal is not None),
    )


PAGE_EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    Exception: unexpected,
    **dict.fromkeys(STORE_ERRORS, store_failed),
    HTTPException: http_error,
    Unauthorized: unauthorized,
    TokenRevoked: revoked,
    ApiError: domain_error,
    GovernanceError: domain_error,
    RegistryError: domain_error,
    ExplainError: domain_error,
}


def by_path(api_handlers: Mapping[type[Exception] | int, Any]) -> dict[type[Exception] | int, Any]:
    """The app's exception handlers: an error on a page path is answered as a page, also
    one raised before any page handler ran (404 for a path no page has, 405 for a method
    none takes), and every other error by the API's table (``api_handlers``)."""

    def answer(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        table = PAGE_EXCEPTION_HANDLERS if is_page(request.scope["path"]) else api_handlers
        handler = next(table[kind] for kind in type(exc).__mro__ if kind in table)
        response: Response[Any] = handler(request, exc)
        return response

    return {Exception: answer}
