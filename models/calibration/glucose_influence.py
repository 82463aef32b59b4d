"""Which day of the record moved a glucose calibration most: leave one day out, refit.

Each day (24 h from the record's start) is left out in turn — its CGM and finger-stick
readings; the meals and insulin stay, they happened — and the rest refitted (warm-started
at the full fit's mode: the same minimum in fewer steps). A day's influence is the change
of each parameter (full fit over the fit without the day, a ratio) and its size, the
Mahalanobis distance ``√(Δηᵀ Σ⁻¹ Δη)`` under the full fit's posterior covariance (1 is a
move of one posterior SD). A day whose removal leaves too few CGM readings has none.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from models.calibration.errors import GlucoseDataError
from models.calibration.glucose import calibrate_glucose
from models.calibration.glucose_days import GlucoseDays
from models.calibration.glucose_prior import PARAMETER_NAMES
from models.dosing.calibration import Calibration

DAY_MIN = 1440.0


@dataclass(frozen=True)
class DayInfluence:
    """Day ``day`` (0 the first) of the record: its readings' leave-one-out effect."""

    day: int
    start_min: float
    readings: int
    distance: float | None
    ratios: tuple[tuple[str, float], ...]
    note: str


def _without(days: GlucoseDays, lo: float, hi: float) -> GlucoseDays:
    keep_cgm = (days.cgm_times < lo) | (days.cgm_times >= hi)
    keep_stick = (days.fingerstick_times < lo) | (days.fingerstick_times >= hi)
    return dataclasses.replace(
        days,
        cgm_times=days.cgm_times[keep_cgm],
        cgm_mg_dl=days.cgm_mg_dl[keep_cgm],
        fingerstick_times=days.fingerstick_times[keep_stick],
        fingerstick_mg_dl=days.fingerstick_mg_dl[keep_stick],
    )


def _one_day(days: GlucoseDays, calibration: Calibration, day: int) -> DayInfluence:
    posterior = calibration.usable()
    lo, hi = day * DAY_MIN, (day + 1) * DAY_MIN
    reduced = _without(days, lo, hi)
    readings = (days.cgm_times.size - reduced.cgm_times.size) + (
        days.fingerstick_times.size - reduced.fingerstick_times.size
    )
    try:
        refit = calibrate_glucose(reduced, start=posterior.eta_array())
    except GlucoseDataError as exc:
        return DayInfluence(day, lo, readings, None, (), f"not refitted: {exc.detail}")
    if refit.posterior is None:
        return DayInfluence(day, lo, readings, None, (), f"refit failed: {refit.message}")
    change = posterior.eta_array() - refit.posterior.eta_array()
    distance = math.sqrt(float(change @ np.linalg.solve(posterior.covariance_array(), change)))
    ratios = tuple((n, float(np.exp(c))) for n, c in zip(PARAMETER_NAMES, change, strict=True))
    return DayInfluence(day, lo, readings, distance, ratios, "refitted without the day")


def day_influence(days: GlucoseDays, calibration: Calibration) -> tuple[DayInfluence, ...]:
    """Days with readings, by decreasing distance (days not refitted last)."""
    times = np.concatenate([days.cgm_times, days.fingerstick_times])
    day_numbers = sorted({int(t // DAY_MIN) for t in times})
    result = [_one_day(days, calibration, day) for day in day_numbers]
    return tuple(sorted(result, key=lambda d: (d.distance is None, -(d.distance or 0.0), d.day)))
