"""Composition of the ethics board's reads: the ethics report and the audit log.

Each read is allowed by the policy (:meth:`governance.lifecycle.versions.Lifecycle.require_on`)
before anything is read, and is itself appended to the audit log
(:class:`governance.audit.chain.AuditLog`). The report is :mod:`governance.oversight.reports`'s; the
chain is verified against the signed checkpoints kept outside the database, by the public
key (:mod:`governance.audit.checkpoints`): a checkpoint whose signature fails is a finding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine

from api.errors import BadRequest
from governance.audit.chain import AuditLog
from governance.audit.checkpoints import (
    CheckpointFile,
    read_checkpoint_file,
    verify_with,
    write_checkpoint,
)
from governance.audit.reads import reader, stored_rows
from governance.audit.signing import CheckpointKey, CheckpointSigner
from governance.canonical import canonical_json
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.lifecycle.versions import Lifecycle
from governance.oversight.report_export import to_csv, to_html, to_json
from governance.oversight.report_trends import DecisionFilter, DecisionTrend
from governance.oversight.report_trends import decision_trend as build_trend
from governance.oversight.reports import EthicsReport, build_report
from governance.policy.store import PolicyStore
from governance.store.db import read_connection

#: An audit record id: a UUID as the chain writes it.
_RECORD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

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
    key: CheckpointKey,
    principal: Principal,
    since: datetime,
    until: datetime,
    fmt: str = "page",
) -> EthicsReport:
    """The ethics-board report for [since, until); the read is audited."""
    lifecycle.require_on(principal, "report", "read")
    if until <= since:
        raise BadRequest("until must be after since", field="until")
    file = read_checkpoint_file(checkpoints_file, [key])
    report = build_report(
        engine, since, until, policies.current().bias_audit_max_age_days, file.checkpoints
    )
    if file.rejected:  # the file is evidence too: the report's chain status says so
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


def decision_trend(
    lifecycle: Lifecycle,
    audit: AuditLog,
    engine: Engine,
    principal: Principal,
    since: datetime,
    until: datetime,
    wanted: DecisionFilter,
) -> DecisionTrend:
    """Release decisions of [since, until) per week, outcome and reason, and the withheld
    ones with their audit record ids: a read of the report and of the audit log, audited."""
    lifecycle.require_on(principal, "report", "read")
    _require_audit(lifecycle, principal, "read")
    if until <= since:
        raise BadRequest("until must be after since", field="until")
    with read_connection(engine) as conn:
        trend = build_trend(conn, since, until, wanted)
    audit.append(
        "audit.read",
        {
            "principal": principal.to_audit(),
            "filters": {"view": "decision trend", "since": since, "until": until}
            | wanted.to_dict(),
            "returned": len(trend.withheld),
        },
    )
    return trend


def audit_record(
    lifecycle: Lifecycle, audit: AuditLog, principal: Principal, record_id: str
) -> dict[str, Any]:
    """One audit record by its id; the read is audited (a record that does not exist is
    the caller's refusal, recorded where the error meets HTTP)."""
    _require_audit(lifecycle, principal, "read")
    if not _RECORD_ID.fullmatch(record_id):
        raise BadRequest(
            "record_id must be an audit record id such as 3f2b1c9e-0d4a-4f6b-9a51-2c7d8e9f0a1b",
            field="record_id",
        )
    found = audit.record(record_id)
    if found is None:
        raise NotFound(f"no audit record {record_id!r}")
    audit.append(
        "audit.read",
        {"principal": principal.to_audit(), "filters": {"record_id": record_id}, "returned": 1},
    )
    return found


def audit_verify(
    lifecycle: Lifecycle,
    audit: AuditLog,
    engine: Engine,
    checkpoint_files: Sequence[Path],
    keys: Sequence[CheckpointKey],
    principal: Principal | None,
) -> dict[str, Any]:
    """The chain verified against the checkpoints in ``checkpoint_files`` signed by one of
    ``keys`` (every other line is a finding); audited when a principal asked."""
    if principal is not None:
        _require_audit(lifecycle, principal, "verify")
    files = [read_checkpoint_file(path, keys) for path in checkpoint_files]
    merged = CheckpointFile(
        [cp for f in files for cp in f.checkpoints], [r for f in files for r in f.rejected]
    )
    result = verify_with(engine, merged)
    if principal is not None:
        audit.append(
            "audit.verify",
            {"principal": principal.to_audit(), "ok": result.ok, "count": result.count},
        )
    return {
        "ok": result.ok,
        "count": result.count,
        "first_bad_seq": result.first_bad_seq,
        "covered": result.covered,
        "message": result.message,
    }


def audit_checkpoint(
    engine: Engine, checkpoints_file: Path, signer: CheckpointSigner
) -> dict[str, Any]:
    cp = write_checkpoint(engine, checkpoints_file, signer)
    return {"count": cp.count, "hash": cp.hash, "at": cp.at.isoformat(), "key_id": signer.key_id}


def audit_export(audit: AuditLog, engine: Engine, out: TextIO, actor: str) -> int:
    """Every record as stored, in seq order, one canonical JSON line each —
    ``{"body", "hash", "prev_hash", "seq"}``, the body the exact text that was hashed
    (docs/audit-format.md) — on one snapshot; the export itself is then recorded."""
    written = 0
    with reader(engine, snapshot=True) as conn:
        for seq, _record_id, _action, body, prev_hash, digest in stored_rows(conn):
            line = {"body": body, "hash": digest, "prev_hash": prev_hash, "seq": seq}
            out.write(canonical_json(line) + "\n")
            written = seq
    audit.append("audit.export", {"actor": actor, "through_seq": written})
    return written


def _require_audit(lifecycle: Lifecycle, principal: Principal, act: str) -> None:
    lifecycle.require_on(principal, "audit", act)
