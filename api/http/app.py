"""The Litestar application."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from api.cds.hooks import CdsHooks
from api.composition.refusal_tally import RefusalTally
from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.http.auth import PUBLIC_PATHS, BearerAuthMiddleware
from api.http.controllers.audit import AuditController
from api.http.controllers.cds_hooks import CdsHooksController
from api.http.controllers.devices import DeviceController
from api.http.controllers.fhir import FhirController
from api.http.controllers.models import ModelController
from api.http.controllers.oversight import OverrideController, ReportController
from api.http.controllers.patients import PatientController
from api.http.controllers.predictions import PredictionController
from api.http.controllers.research import CohortController, JobController
from api.http.controllers.simulations import SimulationController
from api.http.controllers.twins import TwinController
from api.http.fhir_errors import for_fhir
from api.http.limits import counters_for, rate_limit_config
from api.http.off_loop import off_the_loop
from api.http.openapi import (
    SECURITY,
    SECURITY_SCHEMES,
    ClosedStructSchemaPlugin,
    PublicOperation,
    errors,
)
from api.http.pages import (
    by_path,
    page_answer_headers,
    pages_router,
    static_router,
    template_config,
)
from api.http.problems import EXCEPTION_HANDLERS, problem
from api.http.refusal_limit import refusal_limit_middleware
from api.http.work import work_queue

#: Swagger UI 5 (renders OpenAPI 3.1), vendored from npm's swagger-ui-dist with its licence:
#: the docs page loads nothing from anywhere but this server (see SOURCE.md there).
SWAGGER_UI = Path(__file__).resolve().parent / "static" / "swagger"

#: Paths the bearer middleware skips, anchored: Litestar searches these patterns anywhere in
#: the path, so an unanchored "/health" would also skip e.g. /v1/patients/health/consents.
#: Pages (/ui) authenticate with their session cookie instead, EHRs calling CDS Hooks
#: services with their own signed JWT (api.cds).
_UNAUTHENTICATED = [f"^{p}(/|$)" for p in PUBLIC_PATHS] + ["^/ui(/|$)", "^/cds-services(/|$)"]


@get(
    "/health",
    sync_to_thread=True,
    summary="Liveness and policy/database health",
    tags=["health"],
    responses=errors(500, 503, public=True),
    operation_class=PublicOperation,
)
def health(state: State) -> Response[dict[str, Any]]:
    service: TwinregService = state.twinreg
    result = service.health()
    if result.ok:
        return Response({"status": "ok", "checks": result.checks}, status_code=200)
    down = sorted(k for k, v in result.checks.items() if v.startswith("unavailable"))
    detail = f"unavailable: {', '.join(down)}; nothing is released until it is fixed"
    return problem(503, "Unavailable", detail, checks=result.checks)


#: Every error is answered by the page or API table (:func:`by_path`; on /fhir as an
#: OperationOutcome: :func:`for_fhir`), built off the loop.
build_error_answer, error_answer = off_the_loop(for_fhir(by_path(EXCEPTION_HANDLERS)[Exception]))


def _openapi_config() -> OpenAPIConfig:
    """The OpenAPI document at ``/schema``, rendered by the vendored Swagger UI 5."""
    return OpenAPIConfig(
        title="twinreg",
        version="1.0.0",
        description="Governed, explained predictions from registered digital-twin models.",
        path="/schema",
        components=SECURITY_SCHEMES,
        security=SECURITY,
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


def create_app(settings: Settings | None = None, service: TwinregService | None = None) -> Litestar:
    if service is None:
        # the server's start-up brings the governance schema to the head (under the
        # migration lock, so workers starting together migrate once)
        service = TwinregService(settings or Settings.load(), schema="upgrade")
        if service.schema.upgraded:
            logging.getLogger("twinreg.api").warning("%s", service.schema.describe())
    service.repair_aliases()
    settings = service.settings
    # refusals of credentials past an address's limit: one audit record per window
    tally = RefusalTally(service.audit.append, settings.unauthenticated_limit_per_minute)
    counters = counters_for(settings)
    return Litestar(
        route_handlers=[
            health,
            PredictionController,
            SimulationController,
            PatientController,
            TwinController,
            DeviceController,
            CohortController,
            JobController,
            ModelController,
            AuditController,
            OverrideController,
            ReportController,
            FhirController,
            CdsHooksController,
            create_static_files_router(
                path="/static/swagger", directories=[SWAGGER_UI], include_in_schema=False
            ),
            pages_router(service.token_key),
            static_router(),
        ],
        middleware=[
            refusal_limit_middleware(counters, tally),
            DefineMiddleware(BearerAuthMiddleware, exclude=_UNAUTHENTICATED),
            rate_limit_config(settings).middleware,
        ],
        # The policy watcher's listener and the audit checkpoint writer live as long as the
        # worker serves; a graceful stop signs the chain's head once more.
        on_startup=[
            service.policies.start_watching,
            service.checkpoints.start,
            tally.start,
            service.warm_up,
        ],
        # the tallies are written before the checkpoint writer signs the head a last time
        on_shutdown=[service.policies.stop_watching, tally.stop, service.checkpoints.stop],
        # error answers (most write a refusal record) are built on a worker thread
        after_exception=[build_error_answer],
        exception_handlers={Exception: error_answer},
        # every /ui answer, errors included: security headers, Secure cookies over https
        before_send=[page_answer_headers],
        openapi_config=_openapi_config(),
        template_config=template_config(),
        plugins=[ClosedStructSchemaPlugin()],
        state=State(
            {
                "twinreg": service,
                "refusal_tally": tally,
                # simulations, mechanistic predictions, reports: api.http.work
                "work_queue": work_queue(settings, counters),
                # CDS Hooks: the front door, and the counters of its per-issuer limits
                "cds": CdsHooks(service),
                "cds_counters": counters,
            }
        ),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
