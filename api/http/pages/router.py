"""The ``/ui`` router, its templates and its CSRF protection."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from api.http.pages import numbers
from api.http.pages.audit_pages import AuditRecordPages
from api.http.pages.catalogue import CataloguePages
from api.http.pages.ethics import EthicsPages
from api.http.pages.patients import PatientPages
from api.http.pages.prediction import PredictionPages
from api.http.pages.session import PAGES, PageSession
from api.http.pages.sign_in import SignInPages
from api.http.pages.simulation import SimulationPages
from api.http.pages.twin_pages import PatientTwinPages

_API = Path(__file__).resolve().parent.parent
CSRF_COOKIE = "twinreg_csrf"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=_API / "templates", engine=JinjaTemplateEngine, engine_callback=_filters
    )


def _filters(engine: JinjaTemplateEngine) -> None:
    """The pages' number filters (:mod:`api.http.pages.numbers`)."""
    numbers.register(engine.engine)


def csrf_config(token_key: bytes) -> CSRFConfig:
    """Double-submit CSRF tokens for the page forms. Only the pages' router runs this
    middleware: the JSON API is authenticated by bearer tokens, which a browser never
    sends on its own, so it needs none."""
    secret = hmac.new(token_key, b"twinreg csrf", hashlib.sha256).hexdigest()
    return CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        cookie_path=PAGES,
        cookie_httponly=True,
        cookie_samesite="strict",
        # Secure over https: set on every /ui answer by api.http.pages.security
    )


def pages_router(token_key: bytes) -> Router:
    return Router(
        path=PAGES,
        route_handlers=[
            SignInPages,
            CataloguePages,
            PredictionPages,
            EthicsPages,
            # the clinician's pages (issue 16)
            PatientPages,
            PatientTwinPages,
            SimulationPages,
            # the validators' and the ethics board's (issue 16)
            AuditRecordPages,
        ],
        # The session first: a revoked session is sent to sign-in before its CSRF token or
        # its form is looked at.
        middleware=[PageSession(), DefineMiddleware(CSRFMiddleware, config=csrf_config(token_key))],
        # errors are answered by the app's handler, as pages for these paths (errors.by_path)
        include_in_schema=False,
    )


def static_router() -> Router:
    return create_static_files_router(
        path="/static/ui", directories=[_API / "static"], include_in_schema=False
    )
