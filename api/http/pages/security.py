"""What every ``/ui`` answer carries, whatever produced it: a page, a redirect, an error page
from a page handler, or an error Litestar raised before any page ran (404 for a path no
page has, 405 for a method, a CSRF refusal, a 500).

One hook before each response is sent (:func:`page_answer_headers`) sets the security
headers and marks the pages' cookies ``Secure`` when the request came over https; a page
could not forget them, nor could an error that no page handler sees.

https is what the server saw: TLS on uvicorn itself, or ``X-Forwarded-Proto: https`` from
a proxy ``twinreg serve`` trusts (``TWINREG_TRUSTED_PROXIES``, none by default, passed to
uvicorn as ``forwarded_allow_ips``; a header from anyone else is ignored). A deployment
whose TLS ends at a proxy that does not send the header says so with
``TWINREG_SECURE_COOKIES=1``.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from api.composition.service import TwinregService
from api.http.pages.session import PAGES

#: No scripts at all, nothing from other origins, no framing: pages are documents.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def is_page(path: str) -> bool:
    return path == PAGES or path.startswith(PAGES + "/")


def over_https(scope: Scope) -> bool:
    """Whether the pages' cookies must be ``Secure`` for this request."""
    if scope.get("scheme") == "https":
        return True
    service: TwinregService = scope["app"].state.twinreg
    return service.settings.secure_cookies


async def page_answer_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: the security headers on every ``/ui`` answer, and
    ``Secure`` on each cookie it sets when the request came over https."""
    if message["type"] != "http.response.start" or not is_page(scope.get("path", "")):
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    cookies = headers.getall("set-cookie", [])
    if cookies and over_https(scope):
        del headers["set-cookie"]
        for cookie in cookies:
            secure = any(p.strip().lower() == "secure" for p in cookie.split(";"))
            headers.add("set-cookie", cookie if secure else cookie + "; Secure")
