"""A patient's vancomycin course: infusions, measured levels and timed covariates.

Times are hours on one absolute axis (the caller converts clock times). Covariates are
timed values: the value in force at a time is the latest one at or before it (creatinine
clearance may change over a course). Checks name what is missing or contradictory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.dosing.errors import DosingDataError
from models.mechanistic._validation import FloatArray, IntArray

MAX_INFUSIONS = 512
MAX_LEVELS = 64


@dataclass(frozen=True)
class Infusion:
    """A zero-order intravenous infusion: ``amount_mg`` over ``duration_h`` from ``start_h``."""

    amount_mg: float
    start_h: float
    duration_h: float
    id: str = ""


@dataclass(frozen=True)
class Level:
    """A measured serum concentration (mg/L), fitted at its collection time ``time_h``."""

    time_h: float
    concentration_mg_l: float
    id: str = ""


@dataclass(frozen=True)
class TimedValue:
    """A covariate value in force from ``time_h`` until the next one."""

    time_h: float
    value: float
    id: str = ""


@dataclass(frozen=True)
class Course:
    """Doses, levels and covariate timelines (creatinine clearance mL/min, weight kg)."""

    infusions: tuple[Infusion, ...]
    levels: tuple[Level, ...]
    creatinine_clearance: tuple[TimedValue, ...]
    weight: tuple[TimedValue, ...]
    dialysis: bool = False

    def without_level(self, index: int) -> Course:
        levels = self.levels[:index] + self.levels[index + 1 :]
        return Course(self.infusions, levels, self.creatinine_clearance, self.weight, self.dialysis)

    def observation_ids(self) -> tuple[str, ...]:
        records: tuple[Infusion | Level | TimedValue, ...] = (
            *self.infusions,
            *self.levels,
            *self.creatinine_clearance,
            *self.weight,
        )
        return tuple(r.id for r in records if r.id)


def _finite(field: str, *values: float) -> None:
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise DosingDataError(field, "contradictory", "every value must be a finite number")


def check_infusions(infusions: tuple[Infusion, ...]) -> None:
    """Each infusion finite, amount in (0, 10^5] mg, duration in (0, 48] h."""
    if len(infusions) > MAX_INFUSIONS:
        raise DosingDataError("infusions", "invalid", f"at most {MAX_INFUSIONS}")
    for dose in infusions:
        _finite("infusions", dose.amount_mg, dose.start_h, dose.duration_h)
        if not 0.0 < dose.amount_mg <= 1e5 or not 0.0 < dose.duration_h <= 48.0:
            raise DosingDataError(
                "infusions", "invalid", f"amount in (0, 1e5] mg and duration in (0, 48] h: {dose}"
            )


def check_timeline(name: str, values: tuple[TimedValue, ...], first_needed_h: float) -> None:
    """Finite values and one in force at ``first_needed_h`` (else: missing, naming it)."""
    for item in values:
        _finite(name, item.time_h, item.value)
    if not values or min(v.time_h for v in values) > first_needed_h:
        raise DosingDataError(
            name, "missing", f"no value at or before the first dose (t = {first_needed_h:g} h)"
        )


def check_course(course: Course, *, need_levels: bool = True) -> None:
    """Refuse a course that cannot be fitted, saying what is missing or contradictory."""
    if not course.infusions:
        raise DosingDataError("infusions", "missing", "no dose in the course")
    check_infusions(course.infusions)
    first_dose = min(d.start_h for d in course.infusions)
    if len(course.levels) > MAX_LEVELS:
        raise DosingDataError("levels", "invalid", f"at most {MAX_LEVELS}")
    for level in course.levels:
        _finite("levels", level.time_h, level.concentration_mg_l)
        if level.concentration_mg_l < 0.0:
            raise DosingDataError("levels", "contradictory", f"a negative concentration: {level}")
        if level.time_h <= first_dose and level.concentration_mg_l > 0.0:
            raise DosingDataError(
                "levels", "contradictory", f"a level above 0 before any dose: {level}"
            )
    if need_levels and not any(lv.time_h > first_dose for lv in course.levels):
        raise DosingDataError("levels", "missing", "no level measured after a dose")
    check_timeline("creatinine_clearance", course.creatinine_clearance, first_dose)
    check_timeline("weight", course.weight, first_dose)


@dataclass(frozen=True)
class EventGrid:
    """The pieces of the time line: cut times, rate and covariate segment of each piece."""

    bounds: FloatArray
    rate: FloatArray
    segment: IntArray
    sample_at: IntArray
    crcl: FloatArray
    weight: FloatArray


def _in_force(values: tuple[TimedValue, ...], times: FloatArray) -> FloatArray:
    ordered = sorted(values, key=lambda v: v.time_h)
    at = np.array([v.time_h for v in ordered])
    index = np.maximum(np.searchsorted(at, times, side="right") - 1, 0)
    result: FloatArray = np.array([v.value for v in ordered])[index]
    return result


def event_grid(
    course: Course, infusions: tuple[Infusion, ...], sample_times: FloatArray
) -> EventGrid:
    """Cut the time line of ``infusions`` at every event and ``sample_times``."""
    starts = np.array([d.start_h for d in infusions])
    ends = starts + np.array([d.duration_h for d in infusions])
    rates = np.array([d.amount_mg / d.duration_h for d in infusions])
    changes = np.array(
        [v.time_h for v in (*course.creatinine_clearance, *course.weight)], dtype=np.float64
    )
    origin = min(float(starts.min()), float(sample_times.min(initial=np.inf)))
    cuts = np.concatenate([starts, ends, changes, sample_times])
    bounds = np.unique(cuts[cuts >= origin])
    delta = np.zeros(bounds.size)
    np.add.at(delta, np.searchsorted(bounds, starts), rates)
    np.add.at(delta, np.searchsorted(bounds, ends), -rates)
    rate = np.cumsum(delta)[:-1]
    seg_times = np.unique(np.concatenate([bounds[:1], changes[changes >= origin]]))
    segment = np.searchsorted(seg_times, bounds[:-1], side="right") - 1
    return EventGrid(
        bounds=bounds,
        rate=np.ascontiguousarray(np.maximum(rate, 0.0)),
        segment=segment.astype(np.int64),
        sample_at=np.searchsorted(bounds, sample_times).astype(np.int64),
        crcl=_in_force(course.creatinine_clearance, seg_times),
        weight=_in_force(course.weight, seg_times),
    )
