"""The ethics-board report's consent section: grants and withdrawals in the period, per
purpose, and the coverage at its end (patients with an active consent per purpose, of
the patients registered by then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from governance.store.records import Consent, Patient

_co = Consent.__table__  # type: ignore[attr-defined]
_pa = Patient.__table__  # type: ignore[attr-defined]


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


def consent_section(conn: Connection, since: datetime, until: datetime) -> ConsentSection:
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


def _counts(conn: Connection, stmt: Any) -> dict[str, int]:
    """``{key: count}`` from a two-column grouped count."""
    return {str(key): int(n) for key, n in conn.execute(stmt).all()}
