"""Release decisions over time, for the ethics board: per week (Monday to Sunday, UTC) how
many were released, withheld (by the failing check) and refused (bad input), under
optional filters on the model, the clinician's site and the reason; and the withheld
decisions themselves, each with its audit record id.

The reason of a withheld decision is its first failing check, as in the report's
decision section (:mod:`governance.oversight.report_decisions`); a refused request's
reason is :data:`~governance.oversight.report_decisions.INPUT_CHECK`. Filter values are
compared with what the records hold, never interpreted.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from governance.clock import as_utc
from governance.oversight.overrides import DECISION_ACTIONS
from governance.oversight.report_decisions import INPUT_CHECK, failing_check
from governance.store.records import AuditRecord

#: Withheld decisions listed at most (the latest; the weekly counts cover them all).
WITHHELD_LISTED = 500
#: A period of more weeks than this lists only the weeks that had decisions.
MAX_WEEKS = 156
OUTCOMES = ("released", "withheld", "refused")

_ar = AuditRecord.__table__  # type: ignore[attr-defined]
_ACTIONS = DECISION_ACTIONS + tuple(a + ".refused" for a in DECISION_ACTIONS)


@dataclass(frozen=True)
class DecisionFilter:
    """``None`` (or empty) matches every decision."""

    model: str | None = None
    site: str | None = None
    reason: str | None = None

    def matches(self, model: Any, site: Any, reason: str | None) -> bool:
        return (
            (not self.model or model == self.model)
            and (not self.site or site == self.site)
            and (not self.reason or reason == self.reason)
        )

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass(frozen=True)
class WeekDecisions:
    #: The Monday the week starts on; ``days``: how many of its days lie in the period.
    week: date
    days: int
    released: int
    withheld: int
    refused: int
    #: Withheld (and refused, as ``input``) decisions by reason.
    by_reason: dict[str, int]

    @property
    def total(self) -> int:
        return self.released + self.withheld + self.refused


@dataclass(frozen=True)
class WithheldDecision:
    record_id: str
    at: str
    action: str
    model: str | None
    model_version: str | None
    purpose: str | None
    site: str | None
    #: Every failing check: ``{"check", "detail"}``.
    reasons: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class DecisionTrend:
    weeks: tuple[WeekDecisions, ...]
    #: True when the period spans more than :data:`MAX_WEEKS` weeks: weeks without
    #: decisions are left out.
    sparse: bool
    #: The reasons present in the filtered weeks, most frequent first.
    reasons: tuple[str, ...]
    #: The latest :data:`WITHHELD_LISTED` withheld decisions matching, newest first.
    withheld: tuple[WithheldDecision, ...]
    withheld_total: int
    #: What the filters can choose from: values seen in the period, unfiltered.
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        return {o: sum(getattr(w, o) for w in self.weeks) for o in OUTCOMES}


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def decision_trend(
    conn: Connection, since: datetime, until: datetime, wanted: DecisionFilter
) -> DecisionTrend:
    """Decisions with ``since <= at < until`` by week, outcome and reason (see the module)."""
    since, until = as_utc(since), as_utc(until)
    stmt = (
        select(_ar.c.record_id, _ar.c.at, _ar.c.action, _ar.c.body)
        .where(_ar.c.action.in_(_ACTIONS), _ar.c.at >= since, _ar.c.at < until)
        .order_by(_ar.c.seq)
    )
    counts: dict[date, Counter[str]] = {}
    reasons: dict[date, Counter[str]] = {}
    seen: dict[str, set[str]] = {"model": set(), "site": set(), "reason": set()}
    withheld: list[WithheldDecision] = []
    for record_id, at, action, body in conn.execute(stmt):
        parsed = json.loads(body)
        payload = parsed["payload"]
        outcome = payload.get("decision")
        if outcome not in OUTCOMES:
            continue
        model, site = payload.get("model"), (payload.get("principal") or {}).get("site")
        reason = _reason(outcome, payload)
        _note(seen, model, site, reason)
        if not wanted.matches(model, site, reason):
            continue
        week = week_of(as_utc(at).date())
        counts.setdefault(week, Counter())[outcome] += 1
        if reason is not None:
            reasons.setdefault(week, Counter())[reason] += 1
        if outcome == "withheld":
            withheld.append(_withheld(record_id, str(parsed["at"]), action, payload))
    weeks, sparse = _weeks(since, until, counts, reasons)
    overall: Counter[str] = sum(reasons.values(), Counter())
    return DecisionTrend(
        weeks=weeks,
        sparse=sparse,
        reasons=tuple(r for r, _ in sorted(overall.items(), key=lambda kv: (-kv[1], kv[0]))),
        withheld=tuple(sorted(withheld, key=lambda w: w.at, reverse=True)[:WITHHELD_LISTED]),
        withheld_total=len(withheld),
        options={k: tuple(sorted(v)) for k, v in seen.items()},
    )


def _reason(outcome: str, payload: dict[str, Any]) -> str | None:
    if outcome == "withheld":
        return failing_check(payload.get("checks"))[0]
    return INPUT_CHECK if outcome == "refused" else None


def _note(seen: dict[str, set[str]], model: Any, site: Any, reason: str | None) -> None:
    for key, value in (("model", model), ("site", site), ("reason", reason)):
        if isinstance(value, str) and value:
            seen[key].add(value)


def _withheld(record_id: str, at: str, action: str, payload: dict[str, Any]) -> WithheldDecision:
    checks = payload.get("checks")
    failed = [
        {"check": str(c.get("check")), "detail": str(c.get("detail", ""))}
        for c in (checks if isinstance(checks, list) else [])
        if isinstance(c, dict) and c.get("passed") is False
    ]
    return WithheldDecision(
        record_id=record_id,
        at=at,
        action=action,
        model=_text(payload.get("model")),
        model_version=_text(payload.get("model_version")),
        purpose=_text(payload.get("purpose")),
        site=_text((payload.get("principal") or {}).get("site")),
        reasons=tuple(failed),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _weeks(
    since: datetime,
    until: datetime,
    counts: dict[date, Counter[str]],
    reasons: dict[date, Counter[str]],
) -> tuple[tuple[WeekDecisions, ...], bool]:
    """Every week the period touches, oldest first, empty ones included; only the weeks
    with decisions (and True) when there are more than :data:`MAX_WEEKS`."""
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    sparse = (week_of(last) - week_of(first)).days // 7 + 1 > MAX_WEEKS
    starts = sorted(counts) if sparse else _mondays(week_of(first), last)
    out = []
    for week in starts:
        end = last if (last - week).days < 6 else week + timedelta(days=6)
        c = counts.get(week, Counter())
        out.append(
            WeekDecisions(
                week, (end - max(week, first)).days + 1,
                c["released"], c["withheld"], c["refused"], dict(reasons.get(week, Counter())),
            )
        )  # fmt: skip
    return tuple(out), sparse


def _mondays(first: date, last: date) -> list[date]:
    out = [first]
    while (last - out[-1]).days >= 7:
        out.append(out[-1] + timedelta(days=7))
    return out
