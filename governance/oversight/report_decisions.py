"""The ethics-board report's decision section: release decisions released, withheld and
refused in the period, by model version, and withheld (and refused) by reason: the
failing check and its most frequent details. Only the bodies of release decisions are
parsed, once each.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from governance.oversight.overrides import DECISION_ACTIONS
from governance.store.records import AuditRecord

#: How many distinct details are listed per failing check.
TOP_DETAILS = 5
#: The pseudo-check under which refused requests (bad input) are counted.
INPUT_CHECK = "input"

_ar = AuditRecord.__table__  # type: ignore[attr-defined]

_REFUSED_ACTIONS = tuple(a + ".refused" for a in DECISION_ACTIONS)


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


def decision_section(conn: Connection, since: datetime, until: datetime) -> DecisionSection:
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


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _vkey(version: str | None) -> tuple[int, int, str]:
    """Versions in numeric order where they are numbers ("2" before "10"); unknown last."""
    if version is None:
        return (1, 0, "")
    return (0, int(version), "") if version.isdigit() else (0, 1 << 62, version)
