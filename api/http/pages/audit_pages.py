"""One audit record as a page, for the ethics board: what was decided or done, by whom,
why, and where it sits in the hash chain. Every withheld decision on the dashboard links
here; the read is audited like any read of the audit log."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.response import Template

from api.http.pages.audit_view import record_view
from api.http.pages.render import page
from api.http.pages.session import provide_page_principal, service_of
from governance.identity.principal import Principal


class AuditRecordPages(Controller):
    path = "/ethics/audit"
    include_in_schema = False
    dependencies = {"principal": Provide(provide_page_principal)}

    @get("/{record_id:str}", sync_to_thread=True)
    def audit_record(
        self, request: Request[Any, Any, Any], principal: Principal, record_id: str
    ) -> Template:
        record = service_of(request).audit_record(principal, record_id)
        return page("audit_record.html", principal, r=record, view=record_view(record))
