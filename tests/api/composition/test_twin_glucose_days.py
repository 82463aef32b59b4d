"""The glucose adapter's pieces on the real kind table: observations -> glucose days (the
record's start, basal spans, readings at their own times), and a forecast's schedule (the
record before the start, the plan after it, the basal rate going on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.composition.twin_glucose import forecast_schedule, plan_of
from api.composition.twin_glucose_days import build_glucose
from api.composition.twin_scenario import checked_scenario
from governance.errors import InvalidInput
from governance.policy.observation_kinds import parse_observation_kinds
from governance.twins.entries import check_entries
from governance.twins.views import Record
from models.mechanistic.glucose_events import BASAL_RATE, BOLUS, MEAL

KINDS = parse_observation_kinds(
    (Path(__file__).parents[3] / "policies" / "observation_kinds.toml").read_text("utf-8")
)
T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def entry(ident: str, kind: str, minutes: float, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "source": "test", "kind": kind, "time": at(minutes), **fields}


def basal(ident: str, start: float, end: float, rate: float) -> dict[str, Any]:
    parts = {"rate": {"value": rate, "unit": "[IU]/h"}, "start": at(start), "end": at(end)}
    return entry(ident, "insulin_basal", start, components=parts)


def meal(ident: str, minutes: float, grams: float) -> dict[str, Any]:
    parts = {"carbs": {"value": grams, "unit": "g"}, "start": at(minutes)}
    return entry(ident, "meal", minutes, components=parts)


def records(raw: list[dict[str, Any]]) -> list[Record]:
    return [Record(f"r-{e.id}", e.kind, T0, "a", e.content()) for e in check_entries(raw, KINDS)]


def base(n_cgm: int = 40) -> list[dict[str, Any]]:
    cgm = [entry(f"c{i}", "glucose_cgm", 30.0 + 5 * i, value=6.5, unit="mmol/L")
           for i in range(n_cgm)]  # fmt: skip
    return [
        entry("w-old", "weight", -600.0, value=80, unit="kg"),
        entry("w", "weight", -60.0, value=172, unit="[lb_av]"),
        basal("b1", -120.0, 60.0, 0.8),
        basal("b2", 90.0, 2000.0, 1.1),
        meal("m", 10.0, 40.0),
        entry("bolus", "insulin_bolus", 10.0, value=4, unit="[IU]"),
        entry("fs", "glucose_fingerstick", 45.0, value=120, unit="mg/dL", code="41653-7"),
        *cgm,
    ]


def test_observations_become_days_from_the_record_start() -> None:
    glucose = build_glucose(records(base()))
    days = glucose.days
    assert glucose.origin == T0 + timedelta(minutes=10)  # the meal is the earliest
    assert days.cgm_times[0] == 20.0 and days.cgm_mg_dl[0] == pytest.approx(6.5 * 18.016)
    assert list(days.fingerstick_times) == [35.0] and list(days.fingerstick_mg_dl) == [120.0]
    assert days.weight_kg == pytest.approx(172 * 0.45359237)  # the latest weight
    s = days.schedule
    basal_events = [(t, v) for t, k, v in zip(s.times, s.kinds, s.values, strict=True)
                    if k == BASAL_RATE]  # fmt: skip
    assert basal_events == [(0.0, 0.8), (50.0, 0.0), (80.0, 1.1), (1990.0, 0.0)]
    assert "r-w-old" not in days.observation_ids and "r-w" in days.observation_ids
    assert len(days.observation_ids) == 40 + 6


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda raw: [e for e in raw if e["id"] != "b1"], "insulin_basal"),
        (lambda raw: [*raw, basal("b3", 30.0, 100.0, 0.5)], "insulin_basal"),
        (lambda raw: [e for e in raw if e["kind"] != "weight"], "weight"),
        (lambda raw: [e for e in raw if e["kind"] != "glucose_cgm"], "glucose_cgm"),
        (lambda raw: [*raw, meal("huge", 100.0, 400.0)], "meal"),
    ],
)
def test_what_is_missing_or_contradictory_names_the_kind(change: Any, field: str) -> None:
    from api.composition.twin_glucose import GlucoseTwin

    with pytest.raises(InvalidInput) as caught:
        GlucoseTwin().calibrate(records(change(base())))
    assert caught.value.field == field, caught.value


def test_the_forecast_keeps_the_past_replaces_the_future_and_basal_goes_on() -> None:
    glucose = build_glucose(records(base()))
    start = 200.0
    asked = {
        "start": at(10.0 + start), "horizon_h": 6,
        "scenario": [
            {"kind": "meal", "time": at(250.0),
             "components": {"carbs": {"value": 30, "unit": "g"}, "start": at(250.0)}},
            {"kind": "insulin_basal", "time": at(300.0), "components": {
                "rate": {"value": 0.4, "unit": "[IU]/h"}, "start": at(300.0), "end": at(360.0)}},
        ],
    }  # fmt: skip
    plan = plan_of({**asked, "scenario": checked_scenario(asked["scenario"], KINDS)})
    s = forecast_schedule(glucose, plan, start)
    events = list(zip(s.times.tolist(), s.kinds.tolist(), s.values.tolist(), strict=True))
    assert (0.0, MEAL, 40.0) in events and (0.0, BOLUS, 4.0) in events
    assert (240.0, MEAL, 30.0) in events
    basal_events = [(t, v) for t, k, v in events if k == BASAL_RATE]
    # the record's rates to the start (its last span open), the last rate going on, the
    # planned span, then the going-on rate again
    assert basal_events == [(0.0, 0.8), (50.0, 0.0), (80.0, 1.1), (200.0, 1.1), (290.0, 0.4),
                            (350.0, 1.1)]  # fmt: skip
    assert np.all(np.diff(s.times) >= 0.0)
