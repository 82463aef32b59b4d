"""The radiotherapy twin's adapter (:mod:`api.composition.twin_kinds`): the course from the
patient's observations (``radiotherapy_fraction`` doses in Gy, ``tumour_volume`` in cm³),
the Bayesian calibration of :mod:`models.calibration.radiotherapy`, and its forecasts.

Times are days since the course's origin, its first fraction or volume; the state records
the origin (``time_origin``), and a forecast reads the state's volumes and every fraction
delivered since the origin (observations before it are not the course). A forecast takes
``start`` (RFC 3339), ``horizon_h`` (24 h to a year) and ``scenario``: the planned
``radiotherapy_fraction`` entries, between ``start`` and the horizon (none: no further
fraction). It returns the volume every day from ``start`` with 90 % prediction intervals,
the volume at the horizon and the relative reduction, the exact Shapley values of the
volume at the horizon over the growth-rate and radiosensitivity deviations against the
typical patient, and each volume's leave-one-out influence on the MAP growth rate and alpha.
The twin recommends no plan.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from api.composition.twin_kinds import Compute, register
from api.composition.twin_vancomycin import calibration_body, calibration_of
from governance.errors import InvalidInput
from governance.twins.entries import parse_time
from governance.twins.views import Record
from models.calibration.errors import RadiotherapyDataError
from models.calibration.radiotherapy import calibrate_radiotherapy
from models.calibration.radiotherapy_course import Fraction, RadiotherapyCourse, Volume
from models.calibration.radiotherapy_explain import explain_forecast, volume_influence
from models.calibration.radiotherapy_forecast import forecast_tumour

KIND = "radiotherapy"
FRACTION, VOLUME = "radiotherapy_fraction", "tumour_volume"
USED_KINDS = frozenset({FRACTION, VOLUME})
#: A forecast's horizon: a day to a year (hours, as every twin's forecast takes it).
HORIZON_H = (24.0, 365.0 * 24.0)
_REGIMEN_FIELDS = ("dose_mg", "interval_h", "n_doses")


@contextmanager
def _library_errors() -> Iterator[None]:
    """The library's data errors as 422s naming the field (``tumour_volume``)."""
    try:
        yield
    except RadiotherapyDataError as exc:
        raise InvalidInput(f"{exc.field}: {exc.problem}: {exc.detail}", field=exc.field) from exc


def _days(at: datetime, origin: datetime) -> float:
    return (at - origin).total_seconds() / 86400.0


def build_course(
    observations: Sequence[Record], origin: datetime | None = None
) -> tuple[RadiotherapyCourse, datetime]:
    """The course of the fractions and volumes at or after ``origin`` (default: the first
    of them), and the origin."""
    rows = sorted(
        (datetime.fromisoformat(o.body["time"]), o.id, o.kind, float(o.body["value"]))
        for o in observations
        if o.kind in USED_KINDS
    )
    if not rows:
        raise InvalidInput(
            f"{FRACTION}: missing: no {FRACTION} or {VOLUME} observation", field=FRACTION
        )
    start = rows[0][0] if origin is None else origin
    fractions = tuple(Fraction(_days(t, start), v, i) for t, i, k, v in rows
                      if k == FRACTION and t >= start)  # fmt: skip
    volumes = tuple(Volume(_days(t, start), v, i) for t, i, k, v in rows
                    if k == VOLUME and t >= start)  # fmt: skip
    return RadiotherapyCourse(fractions, volumes), start


def _horizon(body: Mapping[str, Any]) -> float:
    value = body.get("horizon_h")
    low, high = HORIZON_H
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("horizon_h must be a finite number of hours", field="horizon_h")
    if not low <= value <= high:
        raise InvalidInput(f"horizon_h must be in [{low:g}, {high:g}] h", field="horizon_h")
    return float(value)


def _plan(scenario: object, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """The planned fractions: checked entries (stored units) of kind radiotherapy_fraction
    between ``start`` and ``end``."""
    if scenario is None:
        return []
    if not isinstance(scenario, list):
        raise InvalidInput("scenario must be a list of planned fractions", field="scenario")
    plan = []
    for i, entry in enumerate(scenario):
        if entry.get("kind") != FRACTION:
            raise InvalidInput(
                f"scenario[{i}].kind: a radiotherapy forecast plans {FRACTION} entries only",
                field=f"scenario[{i}].kind",
            )
        at = parse_time(f"scenario[{i}]", "time", entry.get("time"))
        if not start <= at <= end:
            raise InvalidInput(
                f"scenario[{i}].time: must lie between start and start + horizon_h",
                field=f"scenario[{i}].time",
            )
        plan.append((at, float(entry["value"])))
    return plan


def forecast_request(body: Mapping[str, Any]) -> Compute:
    """Check the request now (422 naming the field); compute once the gate allows."""
    for name in _REGIMEN_FIELDS:
        if body.get(name) is not None:
            raise InvalidInput(
                f"{name}: a radiotherapy forecast takes a scenario of {FRACTION} entries",
                field=name,
            )
    horizon_h = _horizon(body)
    start = parse_time("forecast", "start", body.get("start"))
    plan = _plan(body.get("scenario"), start, start + timedelta(hours=horizon_h))

    def compute(observations: Sequence[Record], state: Mapping[str, Any]) -> dict[str, Any]:
        origin = datetime.fromisoformat(state["time_origin"])
        start_d = _days(start, origin)
        if start_d < 0.0:
            raise InvalidInput(
                f"start must be at or after the course's origin {origin.isoformat()}",
                field="start",
            )
        used = set(state["observation_ids"])
        fitted, _ = build_course([o for o in observations if o.id in used], origin)
        current, _ = build_course(observations, origin)
        course = RadiotherapyCourse(current.fractions, fitted.volumes)
        fractions = tuple(Fraction(_days(at, origin), dose, f"scenario[{i}]")
                          for i, (at, dose) in enumerate(plan))  # fmt: skip
        end_d = start_d + horizon_h / 24.0
        times = np.append(np.arange(start_d, end_d, 1.0), end_d)
        calibration = calibration_of(state)
        with _library_errors():
            result = forecast_tumour(course, calibration, fractions, times)
            explanation = explain_forecast(course, calibration, fractions, end_d)
            influence = volume_influence(fitted, calibration)
        return {
            "forecast": dataclasses.asdict(result),
            "explanation": dataclasses.asdict(explanation),
            "influence": [dataclasses.asdict(i) for i in influence],
            "time_origin": origin.isoformat(),
            "time_unit": "days since time_origin",
        }

    return compute


class RadiotherapyTwin:
    kind = KIND
    used_kinds = USED_KINDS

    def calibrate(self, observations: Sequence[Record]) -> dict[str, Any]:
        course, origin = build_course(observations)
        with _library_errors():
            result = calibrate_radiotherapy(course)
        return {**calibration_body(result, course.observation_ids()),
                "time_origin": origin.isoformat()}  # fmt: skip

    def forecast(self, body: Mapping[str, Any]) -> Compute:
        return forecast_request(body)

    def recommendation(self, body: Mapping[str, Any], time_zone: ZoneInfo) -> Compute | None:
        return None


register(RadiotherapyTwin())
