"""``twinreg bench --suite reports``: the ethics-board report over a large audit log.

A temporary SQLite database is filled with synthetic decisions written through the real
hash chain (plus patients, consents, bias audits, transitions and overrides); the report
is built and, side by side, the chain verification alone is timed, since the report
includes it.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from governance.audit.chain import AuditLog
from governance.audit.verify import verify
from governance.clock import utcnow
from governance.oversight.report_export import to_html
from governance.oversight.reports import build_report
from governance.store.migrations import upgraded_engine
from governance.store.records import BiasAudit, Consent, Override, Patient, Transition

CONSENT_DETAIL = "no active consent for purpose 'treatment' covering data categories ['labs']"


def decision_payload(
    outcome: str,
    version: str | None,
    failing: tuple[str, str] | None = None,
    warnings: tuple[str, ...] = (),
    model: str = "sepsis",
    site: str = "north",
) -> dict[str, Any]:
    """A decision body shaped as governance.release.gate writes it."""
    checks: list[dict[str, Any]] = [
        {"check": "role", "passed": True, "detail": "allowed", "rule": ["clinician", "own"]},
        {"check": "purpose", "passed": True, "detail": "'treatment' is an intended purpose"},
    ]
    if failing is not None:
        checks.append({"check": failing[0], "passed": False, "detail": failing[1]})
    return {
        "principal": {"user": "cal", "role": "clinician", "site": site},
        "patient": uuid.uuid4().hex * 2,
        "purpose": "treatment",
        "model": model,
        "model_version": version,
        "decision": outcome,
        "checks": checks,
        "policy_version": "p" * 64,
        "input_digest": "i" * 64,
        "output_digest": "o" * 64 if outcome == "released" else None,
        "warnings": list(warnings),
    }


def bench_report(n_records: int = 100_000) -> dict[str, Any]:
    """Fill a temporary SQLite DB with ``n_records`` synthetic decisions (through the real
    hash chain, one transaction) plus patients, consents, audits, transitions and
    overrides; time :func:`build_report` and, side by side, :func:`verify` alone."""
    reasons = [
        ("consent", CONSENT_DETAIL),
        ("bias_audit", "no passing bias audit on file for this version"),
        ("envelope", "outside the validated population envelope"),
        ("approval", "sepsis: version 2 is suspended; nothing is served"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        engine = upgraded_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            audit = AuditLog(engine)
            t0 = time.perf_counter()
            now = utcnow()
            released = ""
            with engine.begin() as conn:
                for i in range(n_records):
                    version = str(1 + i % 4)
                    if i % 20 == 19:
                        audit.append(
                            "prediction.refused",
                            {"principal": None, "decision": "refused", "reason": "bad input"},
                            conn=conn,
                        )
                        continue
                    withheld = i % 7 == 3
                    payload = (
                        decision_payload("withheld", version, reasons[i % len(reasons)])
                        if withheld
                        else decision_payload("released", version)
                    )
                    entry = audit.append("prediction", payload, conn=conn)
                    released = released or ("" if withheld else entry.record_id)
                _seed_governance_rows(conn, now, released)
            fill = time.perf_counter() - t0
            since, until = now - timedelta(days=1), utcnow() + timedelta(seconds=1)
            t1 = time.perf_counter()
            report = build_report(engine, since, until, 180.0)
            report_s = time.perf_counter() - t1
            t2 = time.perf_counter()
            verify(engine)
            verify_s = time.perf_counter() - t2
            t3 = time.perf_counter()
            html = to_html(report)
            html_s = time.perf_counter() - t3
            d = report.decisions
            return {
                "records": report.audit_chain.records_total,
                "decisions": d.released + d.withheld + d.refused,
                "chain_ok": report.audit_chain.ok,
                "fill_s": round(fill, 3),
                "report_s": round(report_s, 3),
                "verify_s": round(verify_s, 3),
                "report_minus_verify_s": round(report_s - verify_s, 3),
                "report_over_verify": round(report_s / verify_s, 2),
                "html_s": round(html_s, 3),
                "html_kib": len(html) // 1024,
            }
        finally:
            engine.dispose()


def _seed_governance_rows(conn: Any, now: datetime, released: str) -> None:
    patients = [uuid.uuid4().hex * 2 for _ in range(2_000)]
    conn.execute(
        insert(Patient.__table__),  # type: ignore[attr-defined]
        [
            {"patient_key": k, "site": "north", "registered_by": "cal", "registered_at": now}
            for k in patients
        ],
    )
    conn.execute(
        insert(Consent.__table__),  # type: ignore[attr-defined]
        [
            {
                "id": str(uuid.uuid4()),
                "patient_key": k,
                "purpose": ("treatment", "research")[i % 2],
                "data_categories": '["demographics"]',
                "granted_by": "cal",
                "granted_at": now,
                "withdrawn_by": "cal" if i % 10 == 0 else None,
                "withdrawn_at": now if i % 10 == 0 else None,
            }
            for i, k in enumerate(patients)
        ],
    )
    conn.execute(
        insert(BiasAudit.__table__),  # type: ignore[attr-defined]
        [
            {
                "id": str(uuid.uuid4()),
                "model": "sepsis",
                "version": str(v),
                "passed": v != 2,
                "metrics_json": "{}",
                "policy_version": "p" * 64,
                "evaluation_digest": "e" * 64,
                "auditor": "vic",
                "at": now,
            }
            for v in range(1, 5)
        ],
    )
    conn.execute(
        insert(Transition.__table__),  # type: ignore[attr-defined]
        [
            {
                "model": "sepsis",
                "version": str(v),
                "from_status": "validated",
                "to_status": "approved",
                "actor": "vic",
                "reason": "ok",
                "at": now,
            }
            for v in range(1, 5)
        ],
    )
    conn.execute(
        insert(Override.__table__),  # type: ignore[attr-defined]
        [
            {
                "id": str(uuid.uuid4()),
                "audit_id": released,
                "model": "sepsis",
                "model_version": "1",
                "patient_key": "ab" * 32,
                "site": "north",
                "action": "overridden",
                "reason": "clinical judgement",
                "clinician": f"c{i}",
                "at": now,
                "override_audit_id": str(uuid.uuid4()),
            }
            for i in range(50)
        ],
    )


def run_reports_bench(n_records: int = 100_000) -> None:
    print(json.dumps(bench_report(n_records), indent=2))
