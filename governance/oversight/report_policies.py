"""The ethics-board report's policy section: which policy version was in force, and when
it changed (the audit chain's ``policy.change`` records, see
:mod:`governance.audit.policy_stamp`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from governance.audit.policy_stamp import POLICY_CHANGE
from governance.clock import as_utc
from governance.store.records import AuditRecord

_ar = AuditRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PolicyChange:
    at: datetime
    from_version: str | None
    to_version: str | None


@dataclass(frozen=True)
class PolicySection:
    #: The version the chain last recorded as in force before the period's end.
    in_force_at_end: str | None
    #: The changes recorded in the period, oldest first.
    changes: tuple[PolicyChange, ...]


def policy_section(conn: Connection, since: datetime, until: datetime) -> PolicySection:
    rows = conn.execute(
        select(_ar.c.at, _ar.c.body)
        .where(_ar.c.action == POLICY_CHANGE, _ar.c.at < until)
        .order_by(_ar.c.seq)
    ).all()
    in_force: str | None = None
    changes: list[PolicyChange] = []
    for at, body in rows:
        change = PolicyChange(as_utc(at), *_versions(body))
        in_force = change.to_version
        if as_utc(at) >= since:
            changes.append(change)
    return PolicySection(in_force, tuple(changes))


def _versions(body: str) -> tuple[str | None, str | None]:
    """(from, to) of a change record; an edited, unreadable one gives (None, None) here and
    is named by the chain's verification."""
    try:
        payload = json.loads(body)["payload"]
        return _version(payload.get("from")), _version(payload.get("to"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, None


def _version(value: object) -> str | None:
    return value if isinstance(value, str) else None
