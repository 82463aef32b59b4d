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

Each section is built by its own module (``report_decisions``, ``report_consent``,
``report_bias_audits``, ``report_lifecycle``, ``report_overrides``, ``report_policies``)
on one read connection. Aggregation happens in SQL where the tables allow it (grouped
counts, filters on the indexed ``action`` column); only the bodies of release decisions
are parsed, once each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from governance.audit.verify import Checkpoint, verify
from governance.canonical import iso_utc
from governance.clock import as_utc, utcnow
from governance.errors import InvalidInput
from governance.oversight.report_bias_audits import BiasAuditSection, bias_audit_section
from governance.oversight.report_consent import ConsentSection, consent_section
from governance.oversight.report_decisions import DecisionSection, decision_section
from governance.oversight.report_lifecycle import LifecycleSection, lifecycle_section
from governance.oversight.report_overrides import OverrideSection, override_section
from governance.oversight.report_policies import PolicySection, policy_section
from governance.store.db import read_connection
from governance.store.records import AuditRecord

_ar = AuditRecord.__table__  # type: ignore[attr-defined]


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
        decisions = decision_section(conn, since, until)
        consent = consent_section(conn, since, until)
        bias = bias_audit_section(conn, since, until, max_age_days)
        lifecycle = lifecycle_section(conn, since, until)
        overrides = override_section(conn, since, until)
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
        # the records stored on the snapshot verified: "n of total" never mixes two moments
        int(total) if result.total is None else result.total,
        int(in_period),
        len(checkpoints),
    )
    return EthicsReport(
        since, until, utcnow(), decisions, consent, bias, lifecycle, overrides, policies, chain
    )
