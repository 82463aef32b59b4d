"""Decisions per week by outcome and reason, under filters, over a real SQLite audit log
whose records are written through the real hash chain at chosen moments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

import governance.audit.chain as chain_module
from api.cli.bench_reports import decision_payload
from governance.audit.chain import AuditLog
from governance.audit.verify import verify
from governance.oversight.report_trends import (
    MAX_WEEKS,
    WITHHELD_LISTED,
    DecisionFilter,
    DecisionTrend,
    decision_trend,
    week_of,
)
from governance.store.db import read_connection

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
CONSENT = ("consent", "no active consent for purpose 'treatment'")
ENVELOPE = ("envelope", "age not in [30, 104]")


def _at(
    monkeypatch: pytest.MonkeyPatch, audit: AuditLog, when: datetime, action: str, body: dict
) -> str:  # type: ignore[type-arg]
    monkeypatch.setattr(chain_module, "utcnow", lambda: when)
    return audit.append(action, body).record_id


@pytest.fixture()
def log(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Three weeks of decisions: released, withheld for consent or envelope, refused."""
    audit = AuditLog(sqlite_engine)
    ids = {}
    week1, week2, week3 = MONDAY, MONDAY + timedelta(days=7), MONDAY + timedelta(days=14)
    _at(monkeypatch, audit, week1, "prediction", decision_payload("released", "1"))
    _at(
        monkeypatch,
        audit,
        week1 + timedelta(days=6),
        "prediction",
        decision_payload("released", "1", site="south"),
    )
    ids["consent-north"] = _at(
        monkeypatch, audit, week1 + timedelta(days=1), "prediction",
        decision_payload("withheld", "1", CONSENT),
    )  # fmt: skip
    ids["envelope-other-model"] = _at(
        monkeypatch, audit, week3, "simulation",
        decision_payload("withheld", "1", ENVELOPE, model="vanco"),
    )  # fmt: skip
    ids["consent-south"] = _at(
        monkeypatch, audit, week3 + timedelta(hours=1), "prediction",
        decision_payload("withheld", "1", CONSENT, site="south"),
    )  # fmt: skip
    _at(
        monkeypatch, audit, week1, "prediction.refused",
        {"principal": {"site": "north"}, "model": "sepsis", "decision": "refused", "reason": "x"},
    )  # fmt: skip
    _at(monkeypatch, audit, week2, "report.read", {"principal": None})  # not a decision
    return ids


EVERYTHING = DecisionFilter()


def _trend(engine: Engine, wanted: DecisionFilter = EVERYTHING) -> DecisionTrend:
    """Three whole weeks: Monday 2 March 00:00 to Monday 23 March 00:00 (exclusive)."""
    start = MONDAY.replace(hour=0)
    with read_connection(engine) as conn:
        return decision_trend(conn, start, start + timedelta(days=21), wanted)


def test_each_week_counts_its_decisions_by_outcome_and_reason(
    sqlite_engine: Engine, log: dict[str, str]
) -> None:
    trend = _trend(sqlite_engine)
    assert [w.week for w in trend.weeks] == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    first, second, third = trend.weeks
    assert (first.released, first.withheld, first.refused) == (2, 1, 1)
    assert first.by_reason == {"consent": 1, "input": 1}
    assert (second.total, second.by_reason) == (0, {})  # an empty week is listed
    assert (third.withheld, third.by_reason) == (2, {"consent": 1, "envelope": 1})
    assert trend.totals == {"released": 2, "withheld": 3, "refused": 1}
    assert trend.reasons == ("consent", "envelope", "input")  # most frequent first
    assert [w.record_id for w in trend.withheld] == [
        log["consent-south"],
        log["envelope-other-model"],
        log["consent-north"],
    ]  # newest first, each with its failing checks
    assert trend.withheld[0].reasons == ({"check": "consent", "detail": CONSENT[1]},)
    assert trend.options == {
        "model": ("sepsis", "vanco"),
        "site": ("north", "south"),
        "reason": ("consent", "envelope", "input"),
    }


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (DecisionFilter(model="vanco"), {"released": 0, "withheld": 1, "refused": 0}),
        (DecisionFilter(site="south"), {"released": 1, "withheld": 1, "refused": 0}),
        (DecisionFilter(reason="consent"), {"released": 0, "withheld": 2, "refused": 0}),
        (DecisionFilter(reason="input"), {"released": 0, "withheld": 0, "refused": 1}),
        (
            DecisionFilter(model="sepsis", site="north", reason="consent"),
            {"released": 0, "withheld": 1, "refused": 0},
        ),
        (DecisionFilter(model="<script>"), {"released": 0, "withheld": 0, "refused": 0}),
    ],
)
def test_filters_narrow_the_counts_and_the_list_but_not_the_options(
    sqlite_engine: Engine, log: dict[str, str], wanted: DecisionFilter, expected: dict[str, int]
) -> None:
    trend = _trend(sqlite_engine, wanted)
    assert trend.totals == expected
    assert len(trend.withheld) == trend.withheld_total == expected["withheld"]
    assert trend.options["model"] == ("sepsis", "vanco")


def test_partial_weeks_say_how_many_of_their_days_are_in_the_period(sqlite_engine: Engine) -> None:
    with read_connection(sqlite_engine) as conn:
        trend = decision_trend(
            conn, MONDAY + timedelta(days=4), MONDAY + timedelta(days=9), DecisionFilter()
        )
    assert [(w.week, w.days) for w in trend.weeks] == [(date(2026, 3, 2), 3), (date(2026, 3, 9), 3)]


def test_a_long_period_lists_only_the_weeks_with_decisions(
    sqlite_engine: Engine, log: dict[str, str]
) -> None:
    with read_connection(sqlite_engine) as conn:
        trend = decision_trend(
            conn,
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, tzinfo=UTC),
            DecisionFilter(),
        )
    assert trend.sparse
    assert [w.week for w in trend.weeks] == [date(2026, 3, 2), date(2026, 3, 16)]
    with read_connection(sqlite_engine) as conn:
        short = decision_trend(
            conn, MONDAY, MONDAY + timedelta(weeks=MAX_WEEKS - 1), DecisionFilter()
        )
    assert not short.sparse and len(short.weeks) == MAX_WEEKS


def test_the_last_days_of_the_calendar_are_a_week_not_an_overflow(sqlite_engine: Engine) -> None:
    end = datetime.max.replace(tzinfo=UTC)
    with read_connection(sqlite_engine) as conn:
        trend = decision_trend(conn, end - timedelta(days=20), end, DecisionFilter())
    assert trend.weeks[-1].week == week_of(date(9999, 12, 31))
    assert sum(w.days for w in trend.weeks) == 21


def test_the_list_keeps_the_latest_withheld_and_counts_them_all(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = AuditLog(sqlite_engine)
    for i in range(WITHHELD_LISTED + 3):
        _at(
            monkeypatch,
            audit,
            MONDAY + timedelta(minutes=i),
            "prediction",
            decision_payload("withheld", "1", CONSENT),
        )
    trend = _trend(sqlite_engine)
    assert trend.withheld_total == WITHHELD_LISTED + 3
    assert len(trend.withheld) == WITHHELD_LISTED
    assert trend.withheld[0].at > trend.withheld[-1].at
    assert trend.weeks[0].withheld == WITHHELD_LISTED + 3


def test_verification_counts_the_records_on_the_snapshot_it_verified(
    sqlite_engine: Engine, log: dict[str, str]
) -> None:
    result = verify(sqlite_engine)
    assert result.ok and result.total == result.count == 7
