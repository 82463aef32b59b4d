"""Composition of the ethics board's reads: the ethics report and the audit log.

Each read is allowed by the policy (:meth:`governance.lifecycle.versions.Lifecycle.require_on`)
before anything is read, and is itself appended to the audit log
(:class:`governance.audit.chain.AuditLog`). The report is :mod:`governance.oversight.reports`'s; the
chain is verified against the checkpoints kept outside the database
(:func:`governance.audit.chain.verify`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from api.errors import BadRequest
from governance.audit.chain import AuditLog
from governance.audit.checkpoints import read_checkpoint_file, verify_with, write_checkpoint
from governance.identity.principal import Principal
from governance.lifecycle.versions import Lifecycle
from governance.oversight.report_export import to_csv, to_html, to_json
from governance.oversight.reports import EthicsReport, build_report
from governance.policy.store import PolicyStore

#: The ethics report's formats (``format=``): media type and exporter of each.
REPORT_EXPORTERS: dict[str, tuple[str, Callable[[EthicsReport], str]]] = {
    "json": ("application/json", to_json),
    "csv": ("text/csv", to_csv),
    "html": ("text/html", to_html),
}


def report_export(
    lifecycle: Lifecycle, principal: Principal, since: datetime, until: datetime, fmt: str
) -> tuple[str, Callable[[EthicsReport], str]]:
    """The media type and exporter of the ethics-board report in ``fmt``, once the principal
    may read the report and [since, until) is a period."""
    lifecycle.require_on(principal, "report", "read")
    if until <= since:
        raise BadRequest("until must be after since", field="until")
    if fmt not in REPORT_EXPORTERS:
        raise BadRequest(f"format must be one of {sorted(REPORT_EXPORTERS)}", field="format")
    return REPORT_EXPORTERS[fmt]


def ethics_report_data(
    lifecycle: Lifecycle,
    policies: PolicyStore,
    audit: AuditLog,
    engine: Engine,
    checkpoints_file: Path,
    principal: Principal,
    since: datetime,
    until: datetime,
    fmt: str = "page",
) -> EthicsReport:
    """The ethics-board report for [since, until); the read is audited."""
    lifecycle.require_on(principal, "report", "read")
    if until <= since:
        raise BadRequest("until must be after since", field="until")
    file = read_checkpoint_file(checkpoints_file)
    report = build_report(
        engine, since, until, policies.current().bias_audit_max_age_days, file.checkpoints
    )
    if file.unreadable:  # the file is evidence too: the report's chain status says so
        chain = report.audit_chain
        chain = replace(chain, ok=False, message=file.findings(chain.message))
        report = replace(report, audit_chain=chain)
    audit.append(
        "report.read",
        {"principal": principal.to_audit(), "format": fmt, "since": since, "until": until},
    )
    return report


def audit_records(
    lifecycle: Lifecycle, audit: AuditLog, principal: Principal, filters: Mapping[str, Any]
) -> list[dict[str, Any]]:
    _require_audit(lifecycle, principal, "read")
    records = audit.records(**filters)
    audit.append(
        "audit.read",
        {
            "principal": principal.to_audit(),
            "filters": {k: v for k, v in filters.items() if v is not None},
            "returned": len(records),
        },
    )
    return records


def audit_verify(
    lifecycle: Lifecycle,
    audit: AuditLog,
    engine: Engine,
    checkpoints_file: Path,
    principal: Principal | None,
) -> dict[str, Any]:
    if principal is not None:
        _require_audit(lifecycle, principal, "verify")
    result = verify_with(engine, read_checkpoint_file(checkpoints_file))
    if principal is not None:
        audit.append(
            "audit.verify",
            {"principal": principal.to_audit(), "ok": result.ok, "count": result.count},
        )
    return {
        "ok": result.ok,
        "count": result.count,
        "first_bad_seq": result.first_bad_seq,
        "message": result.message,
    }


def audit_checkpoint(engine: Engine, checkpoints_file: Path) -> dict[str, Any]:
    cp = write_checkpoint(engine, checkpoints_file)
    return {"count": cp.count, "hash": cp.hash, "at": cp.at.isoformat()}


def _require_audit(lifecycle: Lifecycle, principal: Principal, act: str) -> None:
    lifecycle.require_on(principal, "audit", act)
