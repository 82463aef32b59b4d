"""The ethics-board report's lifecycle section: approvals, rejections, suspensions,
reinstatements and retirements in the period, with who and why.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from governance.clock import as_utc
from governance.store.records import Transition

_tr = Transition.__table__  # type: ignore[attr-defined]


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


def lifecycle_section(conn: Connection, since: datetime, until: datetime) -> LifecycleSection:
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
