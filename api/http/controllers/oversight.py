"""Human oversight and reports: clinician overrides, the ethics-board report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter

from api.composition.oversight import REPORT_EXPORTERS
from api.composition.service import TwinregService
from api.composition.validation import parse_date_time
from api.http.deps import provide_principal, provide_service
from api.http.openapi import DATE_TIME_QUERY, EthicsReportOperation, errors, json_response
from api.http.schemas import OverrideIn
from api.http.work import EXPENSIVE
from governance.identity.principal import Principal


class OverrideController(Controller):
    path = "/v1/predictions/{audit_id:str}/overrides"
    tags = ["predictions"]
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @post(
        status_code=201,
        sync_to_thread=True,
        summary="Record that a released prediction was disregarded, overridden or accepted",
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
        middleware=[EXPENSIVE],
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
        since: str | None = Parameter(default=None, schema_extra=DATE_TIME_QUERY),
        until: str | None = Parameter(default=None, schema_extra=DATE_TIME_QUERY),
        # Documented as the three formats; another one is still the service's 422.
        format: str = Parameter(default="json", schema_extra={"enum": list(REPORT_EXPORTERS)}),
    ) -> Response[str]:
        end = parse_date_time(until, "until") or datetime.now(UTC)
        start = parse_date_time(since, "since")
        if start is None:
            # The 30 days before ``until`` (from the first instant, if that is sooner).
            start = end - min(timedelta(days=30), end - datetime.min.replace(tzinfo=UTC))
        media, body = service.ethics_report(principal, start, end, format)
        return Response(body, media_type=media)
