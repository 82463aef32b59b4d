"""A patient twin's forecast form, one per twin kind: the fields in words with units as
the page shows them (:data:`FIELDS`), their starting values, and the forecast request the
API takes (``POST /v1/patients/{id}/twins/{twin}/forecasts``) built from what was entered.

The request goes to the same service call as the API's, which checks it by the twin's kind
(a plan of the wrong kind is refused there, naming the field). Times are entered in UTC
(``datetime-local``, the form says so); an optional planned event left blank is not
planned."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from api.http.pages.render import form_text
from governance.errors import InvalidInput
from governance.twins.views import Record

Request = dict[str, Any]


@dataclass(frozen=True)
class Field:
    """One input: its name, its label in words, its unit, and how it is entered."""

    name: str
    label: str
    unit: str = ""
    kind: str = "number"  # or "time" (UTC), "count"
    optional: bool = False


FIELDS: dict[str, tuple[Field, ...]] = {
    "pk_vancomycin": (
        Field("dose_mg", "Dose", "mg"),
        Field("interval_h", "Every", "h"),
        Field("n_doses", "Doses", kind="count"),
        Field("horizon_h", "Over", "h"),
        Field("start", "First dose", kind="time"),
    ),
    "glucose_t1d": (
        Field("start", "Forecast from", kind="time"),
        Field("horizon_h", "Over", "h, 1 to 72"),
        Field("meal_time", "Planned meal at", kind="time", optional=True),
        Field("carbs_g", "Carbohydrates", "g", optional=True),
        Field("bolus_iu", "Insulin bolus with the meal", "IU", optional=True),
        Field("basal_rate", "Temporary basal rate", "IU/h", optional=True),
        Field("basal_from", "Temporary basal from", kind="time", optional=True),
        Field("basal_to", "until", kind="time", optional=True),
    ),
    "windkessel": (
        Field("start", "Forecast from", kind="time"),
        Field("horizon_h", "Over", "h, up to 336"),
        Field("hr_time", "Planned heart rate from", kind="time", optional=True),
        Field("hr_bpm", "Planned heart rate", "bpm", optional=True),
    ),
    "radiotherapy": (
        Field("start", "Forecast from", kind="time"),
        Field("horizon_days", "Over", "days, 1 to 365"),
        Field("n_fractions", "Planned fractions", kind="count", optional=True),
        Field("dose_gy", "Dose per fraction", "Gy", optional=True),
        Field("first_fraction", "First planned fraction", kind="time", optional=True),
        Field("every_days", "One every", "days", optional=True),
    ),
}


def _number(data: Mapping[str, Any], name: str) -> float | None:
    text = form_text(dict(data), name, limit=32)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')} must be a number", field=name) from None


def _time(data: Mapping[str, Any], name: str) -> datetime | None:
    text = form_text(dict(data), name, limit=32)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(
            f"{name.replace('_', ' ')} must be a date and time", field=name
        ) from None


def _needed(value: Any, name: str) -> Any:
    if value is None:
        raise InvalidInput(f"{name.replace('_', ' ')} is required", field=name)
    return value


def required_number(data: Mapping[str, Any], name: str) -> float:
    """A number the form must have (422 naming the field)."""
    value: float = _needed(_number(data, name), name)
    return value


def _common(data: Mapping[str, Any]) -> Request:
    start = _needed(_time(data, "start"), "start")
    return {
        "start": start.isoformat(),
        "horizon_h": _needed(_number(data, "horizon_h"), "horizon_h"),
    }


def _vancomycin(data: Mapping[str, Any]) -> Request:
    asked = _common(data)
    for name in ("dose_mg", "interval_h"):
        asked[name] = _needed(_number(data, name), name)
    asked["n_doses"] = int(_needed(_number(data, "n_doses"), "n_doses"))
    return asked


def _glucose(data: Mapping[str, Any]) -> Request:
    asked = _common(data)
    scenario: list[Request] = []
    meal, carbs, bolus = (
        _time(data, "meal_time"),
        _number(data, "carbs_g"),
        _number(data, "bolus_iu"),
    )
    if meal is not None and carbs is not None:
        parts = {"carbs": {"value": carbs, "unit": "g"}, "start": meal.isoformat()}
        scenario.append({"kind": "meal", "time": meal.isoformat(), "components": parts})
    if meal is not None and bolus:
        scenario.append(
            {"kind": "insulin_bolus", "time": meal.isoformat(), "value": bolus, "unit": "[IU]"}
        )
    rate = _number(data, "basal_rate")
    if rate is not None:
        since = _needed(_time(data, "basal_from"), "basal_from").isoformat()
        until = _needed(_time(data, "basal_to"), "basal_to").isoformat()
        parts = {"rate": {"value": rate, "unit": "[IU]/h"}, "start": since, "end": until}
        scenario.append({"kind": "insulin_basal", "time": since, "components": parts})
    return asked | ({"scenario": scenario} if scenario else {})


def _windkessel(data: Mapping[str, Any]) -> Request:
    asked = _common(data)
    at, rate = _time(data, "hr_time"), _number(data, "hr_bpm")
    if rate is None:
        return asked
    at = _needed(at, "hr_time")
    entry = {"kind": "heart_rate", "time": at.isoformat(), "value": rate, "unit": "/min"}
    return asked | {"scenario": [entry]}


def _radiotherapy(data: Mapping[str, Any]) -> Request:
    start = _needed(_time(data, "start"), "start")
    days = _needed(_number(data, "horizon_days"), "horizon_days")
    asked: Request = {"start": start.isoformat(), "horizon_h": 24.0 * days}
    n = int(_number(data, "n_fractions") or 0)
    if n <= 0:
        return asked
    dose = _needed(_number(data, "dose_gy"), "dose_gy")
    first = _needed(_time(data, "first_fraction"), "first_fraction")
    every = _needed(_number(data, "every_days"), "every_days")
    times = [first + timedelta(days=every * k) for k in range(min(n, 100))]
    scenario = [
        {"kind": "radiotherapy_fraction", "time": at.isoformat(), "value": dose, "unit": "Gy"}
        for at in times
    ]
    return asked | {"scenario": scenario}


REQUESTS: dict[str, Callable[[Mapping[str, Any]], Request]] = {
    "pk_vancomycin": _vancomycin,
    "glucose_t1d": _glucose,
    "windkessel": _windkessel,
    "radiotherapy": _radiotherapy,
}


def forecast_request(data: Mapping[str, Any]) -> Request:
    """The API's forecast request from the form of the kind it names (``plan``)."""
    plan = form_text(dict(data), "plan", limit=32) or "pk_vancomycin"
    build = REQUESTS.get(plan)
    if build is None:
        raise InvalidInput(f"plan: no forecast form for {plan} twins", field="plan")
    return build(data)


def _minute(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _last_time(observations: list[Record]) -> datetime:
    """The latest observation's time (the form's start), else now."""
    times = []
    for r in observations:
        try:
            times.append(datetime.fromisoformat(str(r.body["time"])))
        except (KeyError, ValueError):
            continue
    return max(times) if times else datetime.now(UTC)


#: Each form's starting values; a time is an offset from the latest observation.
STARTING: dict[str, dict[str, float | timedelta]] = {
    "glucose_t1d": {"start": timedelta(0), "horizon_h": 12, "meal_time": timedelta(hours=2),
                    "carbs_g": 60, "bolus_iu": 6},
    "windkessel": {"start": timedelta(0), "horizon_h": 24, "hr_time": timedelta(hours=6),
                   "hr_bpm": 80},
    "radiotherapy": {"start": timedelta(0), "horizon_days": 28, "n_fractions": 10, "dose_gy": 2,
                     "first_fraction": timedelta(days=1), "every_days": 1},
}  # fmt: skip


def planned(kind: str, observations: list[Record], vancomycin: Mapping[str, Any]) -> Request:
    """The form's starting values: from the latest observation on (vancomycin: the
    recommended regimen, ``vancomycin``)."""
    if kind == "pk_vancomycin":
        return dict(vancomycin)
    at = _last_time(observations).replace(second=0, microsecond=0)
    return {
        name: _minute(at + value) if isinstance(value, timedelta) else value
        for name, value in STARTING.get(kind, {}).items()
    }
