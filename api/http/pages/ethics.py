"""The ethics-board dashboard: the report for a period with its charts, every withheld
decision with its reasons, and the audit-chain verification."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import Provide
from litestar.response import Template

from api.errors import BadRequest
from api.http.pages.render import page
from api.http.pages.session import provide_page_principal, service_of
from api.http.work import EXPENSIVE
from governance.identity.principal import Principal
from governance.oversight.report_export import to_html_fragment

#: Decision records scanned for the per-decision table (the report's counts cover all).
SCAN_LIMIT = 2000
DECISION_ACTIONS = ("prediction", "simulation")


class EthicsPages(Controller):
    path = "/ethics"
    include_in_schema = False
    dependencies = {"principal": Provide(provide_page_principal)}
    #: the report, its charts and the chain's verification: expensive work (api.http.work)
    middleware = [EXPENSIVE]

    @get("/", sync_to_thread=True)
    def dashboard(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        since: date | None = None,
        until: date | None = None,
        period: str | None = None,
    ) -> Template:
        start, end = _period(since, until, period, datetime.now(UTC))
        service = service_of(request)
        report = service.ethics_report_data(principal, start, end)
        withheld: list[dict[str, Any]] = []
        scanned = 0
        for action in DECISION_ACTIONS:
            records = service.audit_records(
                principal, since=start, until=end, action=action, limit=SCAN_LIMIT
            )
            scanned = max(scanned, len(records))
            withheld += [_withheld_row(r) for r in records if r.get("decision") == "withheld"]
        withheld.sort(key=lambda r: r["at"])
        return page(
            "ethics.html",
            principal,
            since=start.date().isoformat(),
            until=(end - timedelta(days=1)).date().isoformat(),
            report=to_html_fragment(report),
            withheld=withheld,
            truncated=scanned >= SCAN_LIMIT,
            scan_limit=SCAN_LIMIT,
            verification=service.audit_verify(principal),
        )

    @get("/export", sync_to_thread=True)
    def export(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        format: str = "html",
        since: date | None = None,
        until: date | None = None,
        period: str | None = None,
    ) -> Response[str]:
        """The same report as a file: JSON, CSV or the printable HTML page."""
        start, end = _period(since, until, period, datetime.now(UTC))
        media, body = service_of(request).ethics_report(principal, start, end, format)
        name = f"ethics-report-{start.date()}-to-{(end - timedelta(days=1)).date()}.{format}"
        disposition = "inline" if format == "html" else "attachment"
        return Response(
            body,
            media_type=media,
            headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
        )


def _period(
    since: date | None, until: date | None, period: str | None, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) in UTC. ``until`` is the last day included. ``period=last-month`` is
    the previous calendar month; the default is the last 30 days including today."""
    today = now.date()
    if period == "last-month":
        first_this = today.replace(day=1)
        last_prev = first_this - timedelta(days=1)
        since, until = last_prev.replace(day=1), last_prev
    elif period not in (None, "", "custom"):
        raise BadRequest("period must be last-month or custom", field="period")
    until = min(until or today, date.max - timedelta(days=1))  # the day after must exist
    since = since or until - timedelta(days=min(29, (until - date.min).days))
    if since > until:
        raise BadRequest("the first day must not be after the last day", field="since")
    start = datetime.combine(since, time.min, UTC)
    end = datetime.combine(until + timedelta(days=1), time.min, UTC)
    return start, end


def _withheld_row(record: dict[str, Any]) -> dict[str, Any]:
    failed = [c for c in record.get("checks", []) if not c.get("passed")]
    return {
        "at": record["at"],
        "audit_id": record["record_id"],
        "action": record["action"],
        "model": record.get("model"),
        "model_version": record.get("model_version"),
        "purpose": record.get("purpose"),
        "site": (record.get("principal") or {}).get("site"),
        "reasons": failed,
    }
