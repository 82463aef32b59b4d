"""The Litestar application."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from api.auth import PUBLIC_PATHS, BearerAuthMiddleware
from api.controllers.audit import AuditController
from api.controllers.models import ModelController
from api.controllers.oversight import OverrideController, ReportController
from api.controllers.patients import PatientController
from api.controllers.predictions import PredictionController
from api.controllers.simulations import SimulationController
from api.limits import STORE_NAME, rate_limit_config, rate_limit_store
from api.problems import EXCEPTION_HANDLERS, PROBLEM_JSON
from api.service import TwinregService
from api.settings import Settings


@get("/health", sync_to_thread=True, summary="Liveness and policy/database health", tags=["health"])
def health(state: State) -> Response[dict[str, Any]]:
    service: TwinregService = state.twinreg
    result = service.health()
    body = {"status": "ok" if result.ok else "unavailable", "checks": result.checks}
    if result.ok:
        return Response(body, status_code=200)
    return Response(body, status_code=503, media_type=PROBLEM_JSON)


def create_app(settings: Settings | None = None, service: TwinregService | None = None) -> Litestar:
    service = service or TwinregService(settings or Settings.load())
    service.repair_aliases()
    openapi = OpenAPIConfig(
        title="twinreg",
        version="1.0.0",
        description="Governed, explained predictions from registered digital-twin models.",
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url="/static/swagger/swagger-ui-bundle.js",
                css_url="/static/swagger/swagger-ui.css",
                standalone_preset_js_url="/static/swagger/swagger-ui-standalone-preset.js",
                favicon="<link rel='icon' type='image/png' "
                "href='/static/swagger/favicon-32x32.png'>",
            )
        ],
    )
    return Litestar(
        route_handlers=[
            health,
            PredictionController,
            SimulationController,
            PatientController,
            ModelController,
            AuditController,
            OverrideController,
            ReportController,
            create_static_files_router(
                path="/static/swagger", directories=[swagger_ui_path], include_in_schema=False
            ),
        ],
        middleware=[
            DefineMiddleware(BearerAuthMiddleware, exclude=list(PUBLIC_PATHS)),
            rate_limit_config(service.settings).middleware,
        ],
        stores={STORE_NAME: rate_limit_store(service.settings)},
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        state=State({"twinreg": service}),
        request_max_body_size=service.settings.max_body_bytes,
        debug=False,
    )
