"""Ethics-board report for one period: what was released, withheld and why, and by whom.

:func:`build_report` reads the governance tables and the audit log for ``since <= at <
until`` (naive datetimes are taken as UTC) and returns an :class:`EthicsReport`:

- ``decisions``   release decisions released / withheld / refused, by model version, and
  withheld by reason (the failing check and its most frequent details);
- ``consent``     grants and withdrawals in the period, and coverage at ``until``
  (patients with an active consent per purpose, of the patients registered by then);
- ``bias_audits`` audits passed and failed in the period, and versions whose latest audit
  at ``until`` passed but is older than ``max_age_days`` (expired);
- ``lifecycle``   approvals, rejections, suspensions, reinstatements and retirements,
  with who and why;
- ``overrides``   clinician overrides with their reasons;
- ``policies``    the policy version in force at ``until`` and the changes in the period;
- ``audit_chain`` :func:`governance.audit.chain.verify` over the whole chain.

Aggregation happens in SQL where the tables allow it (grouped counts, filters on the
indexed ``action`` column); only the bodies of release decisions are parsed, once each.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select

from governance.audit.verify import Checkpoint, verify
from governance.canonical import iso_utc
from governance.clock import as_utc, utcnow
from governance.errors import InvalidInput
from governance.oversight.overrides import DECISION_ACTIONS, OVERRIDE_ACTIONS
from governance.oversight.report_policies import PolicySection, policy_section
from governance.store.db import read_connection
from governance.store.records import (
    AuditRecord,
    BiasAudit,
    Consent,
    ModelVersion,
    Override,
    Patient,
    Transition,
)

#: How many distinct details are listed per failing check.
TOP_DETAILS = 5
#: The pseudo-check under which refused requests (bad input) are counted.
INPUT_CHECK = "input"

_ar = AuditRecord.__table__  # type: ignore[attr-defined]
_ba = BiasAudit.__table__  # type: ignore[attr-defined]
_co = Consent.__table__  # type: ignore[attr-defined]
_mv = ModelVersion.__table__  # type: ignore[attr-defined]
_ov = Override.__table__  # type: ignore[attr-defined]
_pa = Patient.__table__  # type: ignore[attr-defined]
_tr = Transition.__table__  # type: ignore[attr-defined]

_REFUSED_ACTIONS = tuple(a + ".refused" for a in DECISION_ACTIONS)


# -- the report ---------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionDecisions:
    model: str | None
    model_version: str | None
    released: int
    withheld: int
    refused: int


@dataclass(frozen=True)
class DetailCount:
    detail: str
    count: int


@dataclass(frozen=True)
class ReasonCount:
    """Decisions stopped by one check, with its most frequent details."""

    check: str
    count: int
    top_details: tuple[DetailCount, ...]


@dataclass(frozen=True)
class DecisionSection:
    released: int
    withheld: int
    refused: int
    released_with_warnings: int
    by_model_version: tuple[VersionDecisions, ...]
    withheld_by_reason: tuple[ReasonCount, ...]
    refused_by_reason: tuple[ReasonCount, ...]


@dataclass(frozen=True)
class PurposeConsent:
    purpose: str
    grants: int
    withdrawals: int
    #: Patients with an active consent for the purpose at the end of the period.
    patients_covered: int
    #: ``patients_covered`` / patients registered by the end of the period (0 if none).
    coverage: float


@dataclass(frozen=True)
class ConsentSection:
    grants: int
    withdrawals: int
    registered_patients: int
    by_purpose: tuple[PurposeConsent, ...]


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


@dataclass(frozen=True)
class TransitionEntry:
    model: str
    model_version: str
    from_status: str | None
    to_status: str
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class LifecycleSection:
    approvals: tuple[TransitionEntry, ...]
    rejections: tuple[TransitionEntry, ...]
    suspensions: tuple[TransitionEntry, ...]
    reinstatements: tuple[TransitionEntry, ...]
    retirements: tuple[TransitionEntry, ...]


@dataclass(frozen=True)
class OverrideEntry:
    audit_id: str
    model: str
    model_version: str
    site: str
    action: str
    reason: str
    clinician: str
    at: datetime


@dataclass(frozen=True)
class OverrideSection:
    total: int
    disregarded: int
    overridden: int
    entries: tuple[OverrideEntry, ...]


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    verified_records: int
    first_bad_seq: int | None
    message: str
    records_total: int
    records_in_period: int
    checkpoints_checked: int


@dataclass(frozen=True)
class EthicsReport:
    since: datetime
    until: datetime
    generated_at: datetime
    decisions: DecisionSection
    consent: ConsentSection
    bias_audits: BiasAuditSection
    lifecycle: LifecycleSection
    overrides: OverrideSection
    policies: PolicySection
    audit_chain: ChainStatus

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601 UTC strings, tuples as lists."""
        out: dict[str, Any] = _plain(self)
        return out


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


# -- building it ----------------------------------------------------------------------------
def build_report(
    engine: Engine,
    since: datetime,
    until: datetime,
    max_age_days: float,
    checkpoints: Sequence[Checkpoint] = (),
) -> EthicsReport:
    """The ethics-board report for ``since <= at < until`` (see the module docstring)."""
    since, until = as_utc(since), as_utc(until)
    if until <= since:
        raise InvalidInput("until must be after since", field="until")
    if not max_age_days > 0:
        raise InvalidInput("max_age_days must be a positive number", field="max_age_days")
    with read_connection(engine) as conn:
        decisions = _decisions(conn, since, until)
        consent = _consent(conn, since, until)
        bias = _bias_audits(conn, since, until, max_age_days)
        lifecycle = _lifecycle(conn, since, until)
        overrides = _overrides(conn, since, until)
        policies = policy_section(conn, since, until)
        total, in_period = conn.execute(
            select(
                select(func.count()).select_from(_ar).scalar_subquery(),
                select(func.count())
                .select_from(_ar)
                .where(_ar.c.at >= since, _ar.c.at < until)
                .scalar_subquery(),
            )
        ).one()
    result = verify(engine, checkpoints)
    chain = ChainStatus(
        result.ok,
        result.count,
        result.first_bad_seq,
        result.message,
        int(total),
        int(in_period),
        len(checkpoints),
    )
    return EthicsReport(
        since, until, utcnow(), decisions, consent, bias, lifecycle, overrides, policies, chain
    )


def _decisions(conn: Connection, since: datetime, until: datetime) -> DecisionSection:
    stmt = select(_ar.c.action, _ar.c.body).where(
        _ar.c.action.in_(DECISION_ACTIONS + _REFUSED_ACTIONS),
        _ar.c.at >= since,
        _ar.c.at < until,
    )
    per_version: dict[tuple[str | None, str | None], Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    refusals: Counter[str] = Counter()
    warned = 0
    loads = json.loads
    for _action, body in conn.execute(stmt):
        payload = loads(body)["payload"]
        outcome = payload.get("decision")
        if outcome not in ("released", "withheld", "refused"):
            continue
        totals[outcome] += 1
        model, version = payload.get("model"), payload.get("model_version")
        per_version[(_opt_str(model), _opt_str(version))][outcome] += 1
        if outcome == "released":
            if payload.get("warnings"):
                warned += 1
        elif outcome == "withheld":
            check, detail = _failing_check(payload.get("checks"))
            reasons[check][detail] += 1
        else:
            refusals[str(payload.get("reason") or "no reason recorded")] += 1
    by_version = tuple(
        VersionDecisions(m, v, c["released"], c["withheld"], c["refused"])
        for (m, v), c in sorted(
            per_version.items(),
            key=lambda kv: (kv[0][0] is None, kv[0][0] or "", _vkey(kv[0][1])),
        )
    )
    withheld = _reason_counts(reasons.items())
    refused = _reason_counts([(INPUT_CHECK, refusals)] if refusals else [])
    return DecisionSection(
        totals["released"],
        totals["withheld"],
        totals["refused"],
        warned,
        by_version,
        withheld,
        refused,
    )


def _failing_check(checks: Any) -> tuple[str, str]:
    """The first failing check of a withheld decision (the gate stops at it)."""
    if isinstance(checks, list):
        for c in checks:
            if isinstance(c, dict) and c.get("passed") is False:
                return str(c.get("check")), str(c.get("detail", ""))
    return "unknown", "no failing check recorded"


def _reason_counts(items: Iterable[tuple[str, Counter[str]]]) -> tuple[ReasonCount, ...]:
    out = [
        ReasonCount(
            check,
            sum(details.values()),
            tuple(DetailCount(d, n) for d, n in _top(details)),
        )
        for check, details in items
    ]
    out.sort(key=lambda r: (-r.count, r.check))
    return tuple(out)


def _top(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_DETAILS]


def _consent(conn: Connection, since: datetime, until: datetime) -> ConsentSection:
    grants = _counts(
        conn,
        select(_co.c.purpose, func.count())
        .where(_co.c.granted_at >= since, _co.c.granted_at < until)
        .group_by(_co.c.purpose),
    )
    withdrawals = _counts(
        conn,
        select(_co.c.purpose, func.count())
        .where(_co.c.withdrawn_at >= since, _co.c.withdrawn_at < until)
        .group_by(_co.c.purpose),
    )
    active_at_until = and_(
        _co.c.granted_at < until,
        or_(_co.c.withdrawn_at.is_(None), _co.c.withdrawn_at >= until),
        or_(_co.c.valid_from.is_(None), _co.c.valid_from <= until),
        or_(_co.c.valid_until.is_(None), _co.c.valid_until > until),
    )
    covered = _counts(
        conn,
        select(_co.c.purpose, func.count(func.distinct(_co.c.patient_key)))
        .where(active_at_until)
        .group_by(_co.c.purpose),
    )
    registered = int(
        conn.execute(
            select(func.count()).select_from(_pa).where(_pa.c.registered_at < until)
        ).scalar_one()
    )
    purposes = sorted(set(grants) | set(withdrawals) | set(covered))
    by_purpose = tuple(
        PurposeConsent(
            p,
            grants.get(p, 0),
            withdrawals.get(p, 0),
            covered.get(p, 0),
            round(covered.get(p, 0) / registered, 4) if registered else 0.0,
        )
        for p in purposes
    )
    return ConsentSection(
        sum(grants.values()),
        sum(withdrawals.values()),
        registered,
        by_purpose,
    )


def _bias_audits(
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


def _lifecycle(conn: Connection, since: datetime, until: datetime) -> LifecycleSection:
    rows = conn.execute(
        select(_tr)
        .where(
            _tr.c.at >= since,
            _tr.c.at < until,
            _tr.c.to_status.in_(("approved", "rejected", "suspended", "retired")),
        )
        .order_by(_tr.c.at, _tr.c.id)
    ).all()
    groups: dict[str, list[TransitionEntry]] = defaultdict(list)
    for r in rows:
        entry = TransitionEntry(
            r.model, r.version, r.from_status, r.to_status, r.actor, r.reason, as_utc(r.at)
        )
        if r.to_status == "approved":
            groups["reinstated" if r.from_status == "suspended" else "approved"].append(entry)
        else:
            groups[r.to_status].append(entry)
    return LifecycleSection(
        tuple(groups["approved"]),
        tuple(groups["rejected"]),
        tuple(groups["suspended"]),
        tuple(groups["reinstated"]),
        tuple(groups["retired"]),
    )


def _overrides(conn: Connection, since: datetime, until: datetime) -> OverrideSection:
    rows = conn.execute(
        select(_ov).where(_ov.c.at >= since, _ov.c.at < until).order_by(_ov.c.at, _ov.c.id)
    ).all()
    entries = tuple(
        OverrideEntry(
            r.audit_id,
            r.model,
            r.model_version,
            r.site,
            r.action,
            r.reason,
            r.clinician,
            as_utc(r.at),
        )
        for r in rows
    )
    counts = Counter(e.action for e in entries)
    disregarded, overridden = (counts[a] for a in OVERRIDE_ACTIONS)
    return OverrideSection(len(entries), disregarded, overridden, entries)


def _counts(conn: Connection, stmt: Any) -> dict[str, int]:
    """``{key: count}`` from a two-column grouped count."""
    return {str(key): int(n) for key, n in conn.execute(stmt).all()}


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _vkey(version: str | None) -> tuple[int, int, str]:
    """Versions in numeric order where they are numbers ("2" before "10"); unknown last."""
    if version is None:
        return (1, 0, "")
    return (0, int(version), "") if version.isdigit() else (0, 1 << 62, version)
