"""The ethics-board dashboard: the audit chain's verification, decisions per week by
outcome and reason under filters (model, site, reason), every withheld decision linked to
its audit record (:mod:`api.http.pages.audit_pages`), and the report for the period."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import Provide
from litestar.response import Template

from api.errors import BadRequest
from api.http.pages.charts import trend_chart
from api.http.pages.render import page
from api.http.pages.session import provide_page_principal, service_of
from api.http.work import EXPENSIVE
from governance.identity.principal import Principal
from governance.oversight.report_decisions import INPUT_CHECK
from governance.oversight.report_export import to_html_fragment
from governance.oversight.report_trends import DecisionFilter, DecisionTrend, WeekDecisions

#: The longest filter value accepted (model names, sites and check names are short).
MAX_FILTER_LENGTH = 200


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
        model: str | None = None,
        site: str | None = None,
        reason: str | None = None,
    ) -> Template:
        start, end = _period(since, until, period, datetime.now(UTC))
        wanted = DecisionFilter(
            _filter(model, "model"), _filter(site, "site"), _filter(reason, "reason")
        )
        service = service_of(request)
        report = service.ethics_report_data(principal, start, end)
        trend = service.decision_trend(principal, start, end, wanted)
        reasons = [r for r in trend.reasons if r != INPUT_CHECK]  # refused: their own column
        return page(
            "ethics.html",
            principal,
            since=start.date().isoformat(),
            until=(end - timedelta(days=1)).date().isoformat(),
            wanted=wanted,
            report=to_html_fragment(report, audit_chain=False),
            chain=report.audit_chain,
            trend=trend,
            reasons=reasons,
            weeks=[_week_row(w, reasons) for w in trend.weeks],
            trend_chart=_trend_chart(trend),
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


def _filter(value: str | None, field: str) -> str | None:
    """A filter value as given (compared with the records, never interpreted)."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_FILTER_LENGTH:
        raise BadRequest(f"{field} must be at most {MAX_FILTER_LENGTH} characters", field=field)
    return value.strip()


def _week_row(week: WeekDecisions, reasons: list[str]) -> dict[str, Any]:
    return {
        "week": week.week.isoformat(),
        "days": week.days,
        "released": week.released,
        "withheld": week.withheld,
        "refused": week.refused,
        "total": week.total,
        "by_reason": [week.by_reason.get(r, 0) for r in reasons],
    }


def _trend_chart(trend: DecisionTrend) -> str | None:
    if not any(w.total for w in trend.weeks):
        return None
    weeks = trend.weeks
    withheld = {
        r: [w.by_reason.get(r, 0) for w in weeks] for r in trend.reasons if r != INPUT_CHECK
    }
    return trend_chart(
        [w.week.strftime("%d %b") for w in weeks],
        [w.released for w in weeks],
        withheld,
        [w.refused for w in weeks],
    )
