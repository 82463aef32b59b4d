"""The ethics-board report's override section: clinicians' overrides in the period, with
their reasons.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from governance.clock import as_utc
from governance.oversight.overrides import OVERRIDE_ACTIONS
from governance.store.records import Override

_ov = Override.__table__  # type: ignore[attr-defined]


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
    #: Released results the clinician accepted (e.g. a CDS Hooks card's feedback).
    accepted: int
    entries: tuple[OverrideEntry, ...]


def override_section(conn: Connection, since: datetime, until: datetime) -> OverrideSection:
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
    disregarded, overridden, accepted = (counts[a] for a in OVERRIDE_ACTIONS)
    return OverrideSection(len(entries), disregarded, overridden, accepted, entries)
