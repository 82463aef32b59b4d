"""The type 1 diabetes glucose twin's adapter (:mod:`api.composition.twin_kinds`, kind
``glucose_t1d``): its days from the patient's observations
(:mod:`api.composition.twin_glucose_days`), the calibration of Vmx, kp3 and kabs
(:mod:`models.calibration.glucose`), and forecasts of a planned scenario.

Forecast: ``{"start" (RFC 3339), "horizon_h" (1-72), "scenario": [planned meals,
insulin_bolus, insulin_basal entries]}`` -> plasma and CGM glucose every 5 min from
``start`` with 90 % prediction intervals, time in range (70-180 mg/dL) and mean glucose
with their intervals, their exact Shapley explanation against the cohort's median person,
and the days of CGM that moved the estimate most (leave one day out). The record's meals
and boluses before ``start`` stay, those after it are replaced by the scenario; basal: the
record's rates up to ``start``, then the last recorded rate goes on over the horizon except
during the scenario's basal spans. The glucose twin recommends nothing.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api.composition.twin_glucose_days import (
    USED_KINDS,
    Event,
    PatientGlucose,
    Span,
    basal_changes,
    build_glucose,
    library_refusal,
    schedule_of,
)
from api.composition.twin_kinds import Compute, register
from api.composition.twin_vancomycin import calibration_body, calibration_of
from governance.errors import InvalidInput
from governance.twins.entries import parse_time
from governance.twins.views import Record
from models.calibration.errors import GlucoseDataError
from models.calibration.glucose import calibrate_glucose
from models.calibration.glucose_forecast import explain_glucose, forecast_glucose
from models.calibration.glucose_influence import day_influence
from models.mechanistic.glucose import GlucoseSchedule
from models.mechanistic.glucose_events import BASAL_RATE, BOLUS, MEAL

KIND = "glucose_t1d"
PLANNED_KINDS = ("meal", "insulin_bolus", "insulin_basal")
MAX_HORIZON_H = 72.0
VANCOMYCIN_FIELDS = ("dose_mg", "interval_h", "n_doses")


@dataclasses.dataclass(frozen=True)
class Plan:
    """The checked scenario, in absolute times: meals and boluses, basal spans."""

    start: datetime
    horizon_h: float
    events: tuple[tuple[datetime, int, float], ...]
    spans: tuple[tuple[datetime, datetime, float], ...]


def _planned(i: int, entry: Mapping[str, Any], start: datetime, end: datetime) -> Any:
    kind = entry["kind"]
    if kind not in PLANNED_KINDS:
        raise InvalidInput(
            f"scenario[{i}].kind: a glucose scenario plans {', '.join(PLANNED_KINDS)}",
            field=f"scenario[{i}].kind",
        )
    parts = entry["components"]
    at = datetime.fromisoformat(parts["start"] if parts else entry["time"])
    if not start <= at <= end:
        where = f"scenario[{i}].{'components.start' if parts else 'time'}"
        raise InvalidInput(f"{where}: within the forecast's window [start, start + horizon_h]",
                           field=where)  # fmt: skip
    if kind == "meal":
        return (at, MEAL, float(parts["carbs"]))
    if kind == "insulin_bolus":
        return (at, BOLUS, float(entry["value"]))
    stop = datetime.fromisoformat(parts["end"])
    if stop <= at:
        raise InvalidInput(f"scenario[{i}].components.end: after its start",
                           field=f"scenario[{i}].components.end")  # fmt: skip
    return (at, stop, float(parts["rate"]))


def plan_of(body: Mapping[str, Any]) -> Plan:
    """The forecast request checked now (422 naming the field)."""
    for name in VANCOMYCIN_FIELDS:
        if body.get(name) is not None:
            raise InvalidInput(
                f"{name}: a glucose forecast takes a scenario of meals and insulin, not a "
                "vancomycin regimen",
                field=name,
            )
    start = parse_time("forecast", "start", body.get("start"))
    horizon = body.get("horizon_h", 24.0)
    if isinstance(horizon, bool) or not isinstance(horizon, int | float):
        raise InvalidInput("horizon_h must be a number of hours", field="horizon_h")
    if not 1.0 <= horizon <= MAX_HORIZON_H:
        raise InvalidInput(f"horizon_h must be in [1, {MAX_HORIZON_H:g}] h", field="horizon_h")
    end = start + timedelta(hours=horizon)
    planned = [_planned(i, e, start, end) for i, e in enumerate(body.get("scenario") or [])]
    spans = sorted(p for p in planned if isinstance(p[1], datetime))
    for a, b in itertools.pairwise(spans):
        if b[0] < a[1]:
            raise InvalidInput("scenario: contradictory: planned basal spans overlap",
                               field="scenario")  # fmt: skip
    events = tuple(p for p in planned if not isinstance(p[1], datetime))
    return Plan(start, float(horizon), events, tuple(spans))


def forecast_schedule(record: PatientGlucose, plan: Plan, start_min: float) -> GlucoseSchedule:
    """The record's events before ``start_min`` and the plan's from it, on one clock."""

    def minutes(at: datetime) -> float:
        return (at - record.origin).total_seconds() / 60.0

    events: list[Event] = [e for e in record.events if e[0] < start_min]
    events += [(minutes(at), kind, value) for at, kind, value in plan.events]
    history = [c for c in basal_changes(record.spans, open_ended=True) if c[0] <= start_min]
    going_on = history[-1][2]  # the last recorded rate
    spans: list[Span] = [(minutes(a), minutes(b), r) for a, b, r in plan.spans]
    basal = [*history, (start_min, BASAL_RATE, going_on)]
    for i, (s, e, rate) in enumerate(spans):
        basal.append((s, BASAL_RATE, rate))
        if i == len(spans) - 1 or spans[i + 1][0] > e:
            basal.append((e, BASAL_RATE, going_on))
    return schedule_of(basal + events)


def _forecast(plan: Plan) -> Compute:
    def run(observations: Sequence[Record], state: Mapping[str, Any]) -> dict[str, Any]:
        record = build_glucose([o for o in observations if o.id in set(state["observation_ids"])])
        start_min = (plan.start - record.origin).total_seconds() / 60.0
        if start_min < 0.0:
            raise InvalidInput(
                f"forecast.start: at or after the record's start ({record.origin.isoformat()})",
                field="forecast.start",
            )
        schedule = forecast_schedule(record, plan, start_min)
        calibration = calibration_of(state)
        horizon = plan.horizon_h * 60.0
        try:
            result = forecast_glucose(record.days, calibration, schedule, start_min, horizon)
            mean, tir = explain_glucose(record.days, calibration, schedule, start_min, horizon)
            influence = day_influence(record.days, calibration)
        except GlucoseDataError as exc:
            raise library_refusal(exc) from exc
        forecast = dataclasses.asdict(result)
        times = forecast.pop("times_min")
        forecast["times_h"] = [(t - start_min) / 60.0 for t in times]
        days = [{**dataclasses.asdict(d),
                 "date": (record.origin + timedelta(minutes=d.start_min)).isoformat()}
                for d in influence]  # fmt: skip
        return {
            "forecast": {"start": plan.start.isoformat(), "horizon_h": plan.horizon_h,
                         "unit": "mg/dL", **forecast},
            "explanation": dataclasses.asdict(mean),
            "explanation_time_in_range": dataclasses.asdict(tir),
            "influence": days,
            "time_origin": record.origin.isoformat(),
        }  # fmt: skip

    return run


class GlucoseTwin:
    kind = KIND
    used_kinds = USED_KINDS

    def calibrate(self, observations: Sequence[Record]) -> dict[str, Any]:
        record = build_glucose(observations)
        try:
            result = calibrate_glucose(record.days)
        except GlucoseDataError as exc:
            raise library_refusal(exc) from exc
        return calibration_body(result, record.days.observation_ids)

    def forecast(self, body: Mapping[str, Any]) -> Compute:
        return _forecast(plan_of(body))

    def recommendation(self, body: Mapping[str, Any], time_zone: ZoneInfo) -> Compute | None:
        return None


register(GlucoseTwin())
