"""Server-rendered pages for people: validators, clinicians and the ethics board.

Pages live under ``/ui`` and use the same service, roles and Casbin rules as the JSON
API. A sign-in page accepts a token issued by ``twinreg token`` and keeps it in an
HttpOnly, SameSite=Strict cookie; every form carries a CSRF token (double-submit cookie,
checked by Litestar's CSRF middleware). Pages load nothing from any CDN: styles are served
from ``/static/ui`` and charts are inline SVG rendered on the server.
"""

from api.http.pages.errors import by_path
from api.http.pages.router import csrf_config, pages_router, static_router, template_config
from api.http.pages.security import page_answer_headers

__all__ = [
    "by_path",
    "csrf_config",
    "page_answer_headers",
    "pages_router",
    "static_router",
    "template_config",
]
