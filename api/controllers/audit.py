"""The audit log, for the ethics board: records and chain verification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter

from api.deps import provide_principal, provide_service
from api.openapi import errors
from api.service import TwinregService
from governance.principal import Principal


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
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = Parameter(default=None, pattern=r"^[a-z_.]{1,64}$"),
        limit: int = Parameter(default=100, ge=1, le=1000),
        offset: int = Parameter(default=0, ge=0, le=1_000_000_000),
    ) -> list[dict[str, Any]]:
        return service.audit_records(
            principal, since=since, until=until, action=action, limit=limit, offset=offset
        )

    @get("/verify", sync_to_thread=True, summary="Verify the hash chain", responses=errors(403))
    def verify(self, service: TwinregService, principal: Principal) -> dict[str, Any]:
        return service.audit_verify(principal)
