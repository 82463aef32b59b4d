"""Human oversight and reports: clinician overrides, the ethics-board report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import Provide

from api.deps import provide_principal, provide_service
from api.openapi import EthicsReportOperation, errors, json_response
from api.schemas import OverrideIn
from api.service import TwinregService
from governance.principal import Principal


class OverrideController(Controller):
    path = "/v1/predictions/{audit_id:str}/overrides"
    tags = ["predictions"]
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @post(
        status_code=201,
        sync_to_thread=True,
        summary="Record that a released prediction was disregarded or overridden",
        responses=errors(400, 403, 404, 409, 413, 422),
    )
    def record(
        self, audit_id: str, data: OverrideIn, service: TwinregService, principal: Principal
    ) -> dict[str, Any]:
        return service.record_override(principal, audit_id, data.action, data.reason)


class ReportController(Controller):
    path = "/v1/reports"
    tags = ["reports"]
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @get(
        "/ethics",
        sync_to_thread=True,
        summary="Ethics-board report for a period (format=json|csv|html)",
        responses={
            200: json_response(dict[str, Any], "The report, in the format asked for"),
            **errors(400, 403, 422),
        },
        operation_class=EthicsReportOperation,
    )
    def ethics(
        self,
        service: TwinregService,
        principal: Principal,
        since: datetime | None = None,
        until: datetime | None = None,
        format: str = "json",
    ) -> Response[str]:
        end = until or datetime.now(UTC)
        start = since or end - timedelta(days=30)
        media, body = service.ethics_report(principal, start, end, format)
        return Response(body, media_type=media)
