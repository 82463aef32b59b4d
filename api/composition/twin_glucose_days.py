"""A patient's stored observations -> the glucose days :mod:`models.calibration` fits.

Times become minutes from the record's start: the earliest CGM or finger-stick reading,
meal or bolus. CGM readings (``glucose_cgm``) are the sensor compartment's, finger-stick
readings (``glucose_fingerstick``) the plasma compartment's, each at its own time (never
by a label); meals at their ``start``; boluses at their time; basal spans (``rate`` from
``start`` to ``end``; none in force between spans) must not overlap, and one must be in
force at the record's start (the day starts in its steady state). The body weight is the
latest one. What is missing or contradictory is :class:`~governance.errors.InvalidInput`
naming the observation kind (``insulin_basal``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from governance.errors import InvalidInput
from governance.twins.views import Record
from models.calibration.errors import GlucoseDataError
from models.calibration.glucose_days import GlucoseDays
from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.glucose import MAX_HORIZON_MIN, GlucoseSchedule
from models.mechanistic.glucose_events import BASAL_RATE, BOLUS, MEAL

USED_KINDS = frozenset(
    {"glucose_cgm", "glucose_fingerstick", "meal", "insulin_bolus", "insulin_basal", "weight"}
)
#: The library's field -> the observation kind it comes from.
LIBRARY_FIELDS = {
    "cgm": "glucose_cgm",
    "fingerstick": "glucose_fingerstick",
    "basal": "insulin_basal",
    "basal_rate": "insulin_basal",
    "meal": "meal",
    "meal_carbs": "meal",
    "bolus": "insulin_bolus",
    "weight": "weight",
    "event_times": "observations",
}
#: An event: (minutes from the start, schedule kind, value); a span: (start, end, U/h).
Event = tuple[float, int, float]
Span = tuple[float, float, float]


@dataclass(frozen=True)
class PatientGlucose:
    days: GlucoseDays
    origin: datetime
    #: Meals and boluses as schedule events, and the basal spans, in minutes.
    events: tuple[Event, ...]
    spans: tuple[Span, ...]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _missing(kind: str, what: str) -> InvalidInput:
    return InvalidInput(f"{kind}: missing: {what}", field=kind)


def library_refusal(error: GlucoseDataError | MechanisticInputError) -> InvalidInput:
    """The library's refusal, naming the observation kind it is about."""
    field = LIBRARY_FIELDS.get(error.field, error.field)
    if isinstance(error, GlucoseDataError):
        return InvalidInput(f"{field}: {error.problem}: {error.detail}", field=field)
    return InvalidInput(f"{field}: invalid: {error}", field=field)


def basal_changes(spans: Sequence[Span], open_ended: bool = False) -> list[Event]:
    """Rate changes of non-overlapping spans: each span's rate from its start, 0 from its
    end unless the next span starts there (the last span runs on when ``open_ended``)."""
    events: list[Event] = []
    for i, (start, end, rate) in enumerate(spans):
        events.append((start, BASAL_RATE, rate))
        last = i == len(spans) - 1
        if (last and not open_ended) or (not last and spans[i + 1][0] > end):
            events.append((end, BASAL_RATE, 0.0))
    return events


def schedule_of(events: Sequence[Event]) -> GlucoseSchedule:
    ordered = sorted(events, key=lambda e: e[0])  # stable: a later rate at a time wins
    try:
        return GlucoseSchedule.from_arrays(*(np.array([e[j] for e in ordered]) for j in range(3)))
    except MechanisticInputError as exc:
        raise library_refusal(exc) from exc


def _spans(rows: list[tuple[datetime, Any, str]], origin: datetime) -> list[tuple[Span, str]]:
    def minutes(text: str) -> float:
        return (_time(text) - origin).total_seconds() / 60.0

    # an end past the solver's horizon (a pump's "until changed") is no end within it
    spans = sorted((minutes(c["start"]), min(minutes(c["end"]), MAX_HORIZON_MIN), float(c["rate"]),
                    ident) for _, c, ident in rows)  # fmt: skip
    used = [s for s in spans if s[1] > 0.0]
    for (_, e0, _, a), (s1, _, _, b) in itertools.pairwise(used):
        if s1 < e0:
            raise InvalidInput(
                f"insulin_basal: contradictory: spans {a!r} and {b!r} overlap",
                field="insulin_basal",
            )
    if any(s[0] >= s[1] for s in used):
        raise InvalidInput("insulin_basal: invalid: a span ends before it starts",
                           field="insulin_basal")  # fmt: skip
    if not used or used[0][0] > 0.0:
        raise _missing("insulin_basal", "a basal rate in force at the record's start")
    return [((max(s, 0.0), e, r), ident) for s, e, r, ident in used]


def build_glucose(observations: Sequence[Record]) -> PatientGlucose:
    """The glucose days from the patient's observations (:class:`InvalidInput`)."""
    by_kind: dict[str, list[tuple[datetime, Any, str]]] = {k: [] for k in USED_KINDS}
    for obs in observations:
        if obs.kind in USED_KINDS:
            body = obs.body
            by_kind[obs.kind].append((_time(body["time"]), body["components"] or body["value"],
                                      obs.id))  # fmt: skip
    if not by_kind["glucose_cgm"]:
        raise _missing("glucose_cgm", "no CGM reading (glucose_cgm)")
    if not by_kind["weight"]:
        raise _missing("weight", "no body weight")
    meals = [(_time(c["start"]), c["carbs"], i) for _, c, i in by_kind["meal"]]
    timed = by_kind["glucose_cgm"] + by_kind["glucose_fingerstick"] + by_kind["insulin_bolus"]
    origin = min(r[0] for r in timed + meals)

    def minutes(at: datetime) -> float:
        return (at - origin).total_seconds() / 60.0

    spans = _spans(by_kind["insulin_basal"], origin)
    events: list[Event] = [(minutes(t), MEAL, float(v)) for t, v, _ in meals]
    events += [(minutes(t), BOLUS, float(v)) for t, v, _ in by_kind["insulin_bolus"]]
    schedule = schedule_of(events + basal_changes([s for s, _ in spans]))
    cgm = sorted(by_kind["glucose_cgm"])
    sticks = sorted(by_kind["glucose_fingerstick"])
    weight = max(by_kind["weight"])
    used = [r[2] for r in cgm + sticks + meals + by_kind["insulin_bolus"]]
    used += [ident for _, ident in spans] + [weight[2]]
    days = GlucoseDays(
        schedule,
        np.array([minutes(t) for t, _, _ in cgm]),
        np.array([float(v) for _, v, _ in cgm]),
        float(weight[1]),
        tuple(sorted(used)),
        np.array([minutes(t) for t, _, _ in sticks]),
        np.array([float(v) for _, v, _ in sticks]),
    )
    return PatientGlucose(days, origin, tuple(sorted(events)), tuple(s for s, _ in spans))
