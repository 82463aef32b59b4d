"""The audit log, for the ethics board: records and chain verification."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter

from api.composition.service import TwinregService
from api.composition.validation import parse_date_time
from api.http.deps import provide_principal, provide_service
from api.http.openapi import DATE_TIME_QUERY, errors
from governance.identity.principal import Principal


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @get(
        "/records",
        sync_to_thread=True,
        summary="Audit records (every read is audited)",
        responses=errors(400, 403, 422),
    )
    def records(
        self,
        service: TwinregService,
        principal: Principal,
        since: str | None = Parameter(default=None, schema_extra=DATE_TIME_QUERY),
        until: str | None = Parameter(default=None, schema_extra=DATE_TIME_QUERY),
        action: str | None = Parameter(default=None, pattern=r"^[a-z_.]{1,64}$"),
        limit: int = Parameter(default=100, ge=1, le=1000),
        offset: int = Parameter(default=0, ge=0, le=1_000_000_000),
    ) -> list[dict[str, Any]]:
        return service.audit_records(
            principal,
            since=parse_date_time(since, "since"),
            until=parse_date_time(until, "until"),
            action=action,
            limit=limit,
            offset=offset,
        )

    @get("/verify", sync_to_thread=True, summary="Verify the hash chain", responses=errors(403))
    def verify(self, service: TwinregService, principal: Principal) -> dict[str, Any]:
        return service.audit_verify(principal)
