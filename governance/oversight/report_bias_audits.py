"""The ethics-board report's bias-audit section: audits passed and failed in the period,
and the versions whose latest audit at its end passed but is older than the maximum age
(expired).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, select

from governance.clock import as_utc
from governance.store.records import BiasAudit, ModelVersion

_ba = BiasAudit.__table__  # type: ignore[attr-defined]
_mv = ModelVersion.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class BiasAuditEntry:
    model: str
    model_version: str
    passed: bool
    auditor: str
    at: datetime


@dataclass(frozen=True)
class ExpiredAudit:
    """A version whose latest audit at the end of the period passed but is too old."""

    model: str
    model_version: str
    audited_at: datetime
    age_days: float
    #: The version's lifecycle status now (when the report was built).
    status: str | None


@dataclass(frozen=True)
class BiasAuditSection:
    passed: int
    failed: int
    max_age_days: float
    audits: tuple[BiasAuditEntry, ...]
    expired: tuple[ExpiredAudit, ...]


def bias_audit_section(
    conn: Connection, since: datetime, until: datetime, max_age_days: float
) -> BiasAuditSection:
    rows = conn.execute(
        select(_ba.c.model, _ba.c.version, _ba.c.passed, _ba.c.auditor, _ba.c.at)
        .where(_ba.c.at >= since, _ba.c.at < until)
        .order_by(_ba.c.at, _ba.c.id)
    ).all()
    audits = tuple(
        BiasAuditEntry(r.model, r.version, bool(r.passed), r.auditor, as_utc(r.at)) for r in rows
    )
    # The latest audit per version at the end of the period, and the version's status.
    latest = (
        select(_ba.c.model, _ba.c.version, func.max(_ba.c.at).label("at"))
        .where(_ba.c.at < until)
        .group_by(_ba.c.model, _ba.c.version)
        .subquery()
    )
    newest = conn.execute(
        select(_ba.c.model, _ba.c.version, _ba.c.passed, _ba.c.at, _mv.c.status)
        .join(
            latest,
            and_(
                _ba.c.model == latest.c.model,
                _ba.c.version == latest.c.version,
                _ba.c.at == latest.c.at,
            ),
        )
        .outerjoin(_mv, and_(_mv.c.model == _ba.c.model, _mv.c.version == _ba.c.version))
        .order_by(_ba.c.model, _ba.c.version)
    ).all()
    limit = timedelta(days=max_age_days)
    expired: dict[tuple[str, str], ExpiredAudit] = {}
    failed_latest: set[tuple[str, str]] = set()
    for r in newest:
        key = (r.model, r.version)
        if not r.passed:  # a failure at the same instant voids a pass
            failed_latest.add(key)
            expired.pop(key, None)
            continue
        at = as_utc(r.at)
        if key not in failed_latest and until - at > limit:
            age = (until - at).total_seconds() / 86400.0
            expired[key] = ExpiredAudit(r.model, r.version, at, round(age, 2), r.status)
    return BiasAuditSection(
        len([a for a in audits if a.passed]),
        len([a for a in audits if not a.passed]),
        float(max_age_days),
        audits,
        tuple(expired[k] for k in sorted(expired)),
    )
