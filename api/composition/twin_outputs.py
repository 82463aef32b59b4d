"""Forecasts and recommendations of a vancomycin twin from its latest converged state,
as the dosing library computes them (:mod:`models.dosing`), in the request's terms.

Forecast: ``{"dose_mg", "interval_h", "n_doses", "start" (RFC 3339), "horizon_h"}`` ->
concentrations every hour from ``start`` over the horizon with 90 % prediction intervals,
the AUC24 from ``start``, its exact Shapley explanation against the reference patient,
and the levels that moved the clearance most (leave-one-out). Recommendation:
``{"target": {"auc24": [lo, hi]}, "intervals_h", "dose_step_mg", "max_daily_mg",
"loading", "start"?}`` -> every regimen of the grid ranked by probability of target
attainment, and the top regimen's schedule in the site's time zone.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from api.composition.twin_course import PatientCourse
from api.composition.twin_schedule import schedule
from governance.errors import InvalidInput
from governance.twins.entries import parse_time
from models.dosing.calibration import Calibration
from models.dosing.errors import DosingDataError
from models.dosing.explain import explain_forecast, level_influence
from models.dosing.forecast import forecast, repeated_infusions
from models.dosing.recommend import DosingGrid, recommend

CourseCompute = Callable[[PatientCourse, Calibration], dict[str, Any]]
#: The loading dose asked with ``"loading": true`` (mg/kg; the guideline's 20-35).
DEFAULT_LOADING_MG_PER_KG = 25.0


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = body.get(name)
    if value is None:
        raise InvalidInput(f"{name} is required", field=name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number", field=name)
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be in [{low:g}, {high:g}]", field=name)
    return float(value)


def forecast_request(body: Mapping[str, Any]) -> CourseCompute:
    """Check the request now (422 naming the field); compute once the gate allows."""
    if body.get("scenario") is not None:
        raise InvalidInput(
            "a vancomycin forecast takes dose_mg, interval_h and n_doses, not a scenario",
            field="scenario",
        )
    dose = _number(body, "dose_mg", 50.0, 6000.0)
    interval = _number(body, "interval_h", 4.0, 72.0)
    n_doses = int(_number(body, "n_doses", 1, 30))
    horizon = _number(body, "horizon_h", 1.0, 14 * 24.0)
    start = parse_time("forecast", "start", body.get("start"))

    def compute(course: PatientCourse, calibration: Calibration) -> dict[str, Any]:
        start_h = (start - course.origin).total_seconds() / 3600.0
        regimen = repeated_infusions(dose, interval, n_doses, start_h)
        times = start_h + np.arange(0.0, horizon + 1e-9, 1.0)
        result = forecast(course.course, calibration, regimen, times, start_h)
        explanation = explain_forecast(course.course, calibration, regimen, start_h)
        return {
            "forecast": dataclasses.asdict(result),
            "explanation": dataclasses.asdict(explanation),
            "influence": [
                dataclasses.asdict(i) for i in level_influence(course.course, calibration)
            ],
            "time_origin": course.origin.isoformat(),
        }

    return compute


def recommendation_request(
    body: Mapping[str, Any], time_zone: ZoneInfo | None = None
) -> CourseCompute:
    """Check the grid now; once the gate allows, rank it and schedule the top regimen from
    ``start`` (or when the current regimen's next dose is due) in the site's
    ``time_zone`` (:func:`api.composition.twin_schedule.schedule`)."""
    zone = time_zone or ZoneInfo("UTC")
    start = body.get("start")
    first = None if start is None else parse_time("recommendation", "start", start)
    target = body.get("target", {"auc24": [400.0, 600.0]})
    auc = target.get("auc24") if isinstance(target, dict) else None
    if not isinstance(auc, list) or len(auc) != 2:
        raise InvalidInput('target must be {"auc24": [low, high]}', field="target")
    loading = body.get("loading", False)
    if not isinstance(loading, bool | int | float):
        raise InvalidInput("loading must be true, false or mg/kg", field="loading")
    per_kg = (DEFAULT_LOADING_MG_PER_KG if loading is True else float(loading)) or None
    intervals = body.get("intervals_h", [8, 12, 24])
    if not isinstance(intervals, list) or not intervals:
        raise InvalidInput("intervals_h must be a list of hours", field="intervals_h")
    try:
        grid = DosingGrid(
            intervals_h=tuple(float(t) for t in intervals),
            dose_step_mg=float(body.get("dose_step_mg", 250.0)),
            max_daily_mg=float(body.get("max_daily_mg", 4000.0)),
            target_auc24=(float(auc[0]), float(auc[1])),
            loading_mg_per_kg=None if loading is False else per_kg,
        )
        grid.check()
    except DosingDataError as exc:
        raise InvalidInput(f"{exc.field}: {exc.detail}", field=exc.field) from exc
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the grid's values must be numbers: {exc}", field="grid") from exc

    def compute(course: PatientCourse, calibration: Calibration) -> dict[str, Any]:
        ranked = recommend(course.course, calibration, grid)
        return {
            "recommendation": dataclasses.asdict(ranked),
            "schedule": schedule(course, ranked, first, zone),
        }

    return compute
