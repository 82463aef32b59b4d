"""The ethics-board report's decision section: release decisions released, withheld and
refused in the period, by model version, and withheld (and refused) by reason: the
failing check and its most frequent details. Only the bodies of release decisions are
parsed, once each.

Rows go to registered models only: a decision (a refusal, typically) naming a model that
was never registered counts in one row whose model is ``None`` ("unknown model"), and
one naming a version its model does not have counts in that model's row without a
version. Clients can invent names; they cannot add rows to the report.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from governance.oversight.overrides import DECISION_ACTIONS
from governance.store.records import AuditRecord, ModelVersion

#: How many distinct details are listed per failing check.
TOP_DETAILS = 5
#: The pseudo-check under which refused requests (bad input) are counted.
INPUT_CHECK = "input"

_ar = AuditRecord.__table__  # type: ignore[attr-defined]
_mv = ModelVersion.__table__  # type: ignore[attr-defined]

_REFUSED_ACTIONS = tuple(a + ".refused" for a in DECISION_ACTIONS)


@dataclass(frozen=True)
class VersionDecisions:
    #: None: decisions naming a model that is not registered ("unknown model").
    model: str | None
    #: None: no version was named, or one the model does not have.
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
    row_of = _registered_rows(conn)
    for _action, body in conn.execute(stmt):
        payload = loads(body)["payload"]
        outcome = payload.get("decision")
        if outcome not in ("released", "withheld", "refused"):
            continue
        totals[outcome] += 1
        per_version[row_of(payload.get("model"), payload.get("model_version"))][outcome] += 1
        if outcome == "released":
            if payload.get("warnings"):
                warned += 1
        elif outcome == "withheld":
            check, detail = failing_check(payload.get("checks"))
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


_RowOf = Callable[[Any, Any], tuple[str | None, str | None]]


def _registered_rows(conn: Connection) -> _RowOf:
    """A function (model, version) as recorded -> the report row they count in."""
    registered: dict[str, set[str]] = defaultdict(set)
    for model, version in conn.execute(select(_mv.c.model, _mv.c.version)):
        registered[model].add(version)

    def row_of(model: Any, version: Any) -> tuple[str | None, str | None]:
        if not isinstance(model, str) or model not in registered:
            return None, None
        return model, version if isinstance(version, str) and version in registered[model] else None

    return row_of


def failing_check(checks: Any) -> tuple[str, str]:
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


def _vkey(version: str | None) -> tuple[int, int, str]:
    """Versions in numeric order where they are numbers ("2" before "10"); unknown last."""
    if version is None:
        return (1, 0, "")
    return (0, int(version), "") if version.isdigit() else (0, 1 << 62, version)
