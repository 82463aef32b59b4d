"""What an error page says: a title and a sentence a person can act on for the errors
Litestar raises before any page runs (no such page, a method the page does not take, a
query parameter that does not parse, a stale form), and the ways back from it.

Nothing the client sent is echoed except the name of a parameter the page declares; the
path never is (it may hold an identifier).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException, ValidationException

from api.http.pages.session import PAGES

TITLES = {
    400: "Invalid request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
    415: "Unsupported form",
    429: "Too many requests",
    503: "Service unavailable",
}

#: (path prefix, label, target): the section a page belongs to, most specific first.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    (PAGES + "/ethics", "Back to the ethics-board dashboard (last 30 days)", PAGES + "/ethics"),
    (PAGES + "/models", "Back to the model catalogue", PAGES + "/models"),
    (PAGES + "/predict", "Back to the prediction form", PAGES + "/predict"),
)


def http_title(status: int) -> str:
    return TITLES.get(status, "Request refused")


def http_detail(request: Request[Any, Any, Any], exc: HTTPException) -> str:
    """The sentence of an error Litestar raised (see the module docstring)."""
    status = exc.status_code
    if status == 404:
        return "There is no page at this address. Check the link, or start again below."
    if status == 405:
        allow = (exc.headers or {}).get("allow") or (exc.headers or {}).get("Allow")
        # Litestar joins a set: the same methods in any order, sorted here to read the same
        methods = sorted(m.strip() for m in str(allow).split(",") if m.strip()) if allow else []
        takes = f"; it answers {', '.join(methods)}" if methods else ""
        return f"This address does not take a {request.method} request{takes}."
    if isinstance(exc, ValidationException):
        return _validation_detail(exc)
    if "csrf" in str(exc.detail).lower():
        return (
            "The form's security token is missing or out of date: go back, reload the page "
            "and send the form again."
        )
    return str(exc.detail)


def _validation_detail(exc: ValidationException) -> str:
    first = exc.extra[0] if isinstance(exc.extra, list) and exc.extra else None
    if not isinstance(first, dict) or not first.get("key"):
        return "A value in the address could not be read; check it and try again."
    key, message = str(first["key"]), str(first.get("message") or "")
    if "date" in message.lower():
        return f"{key} must be a date such as 2024-05-31."
    return f"{key}: {message or 'this value could not be read'}."


def ways_back(path: str, signed_in: bool) -> list[tuple[str, str]]:
    """Links out of an error page: the section it came from, then the start page."""
    links = [(label, target) for prefix, label, target in SECTIONS if path.startswith(prefix)]
    start = (
        ("Back to the start page", PAGES + "/") if signed_in else ("Sign in", PAGES + "/sign-in")
    )
    return [*links[:1], start]
