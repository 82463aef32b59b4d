"""The Windkessel twin's adapter (:mod:`api.composition.twin_kinds`): cuff blood pressures
with the heart rate in force (:mod:`api.composition.twin_blood_pressure`), the MAP + Laplace
calibration of :mod:`models.calibration.windkessel`, and its forecasts.

Forecast: ``{"start" (RFC 3339), "horizon_h", "scenario"?}``; the scenario plans
``heart_rate`` entries (checked against the kind table by the service). At every hour from
``start`` over the horizon, and at each planned change, the steady beat at the heart rate
in force then (the planned ones, else the observed ones; the stroke volume and the
calibrated resistance and compliance held): systolic, diastolic and mean pressure with
90 % prediction intervals, their exact Shapley explanation at ``start`` against the
typical patient at 72 bpm, and the readings that moved the estimate most (leave-one-out).
The Windkessel recommends nothing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from api.composition.twin_blood_pressure import (
    USED_KINDS,
    HeartRates,
    blood_pressures,
    heart_rates,
    in_force,
    invalid,
)
from api.composition.twin_kinds import Compute, register
from api.composition.twin_vancomycin import calibration_body, calibration_of
from governance.errors import InvalidInput
from governance.twins.entries import parse_time
from governance.twins.views import Record
from models.calibration.errors import WindkesselDataError
from models.calibration.windkessel import calibrate_windkessel
from models.calibration.windkessel_forecast import (
    explain_pressures,
    forecast_pressures,
    reading_influence,
)
from models.calibration.windkessel_prior import HEART_RATE_RANGE_BPM, TYPICAL_STROKE_VOLUME_ML

KIND = "windkessel"
MAX_HORIZON_H = 14 * 24.0
REGIMEN_FIELDS = ("dose_mg", "interval_h", "n_doses")


def _horizon(body: Mapping[str, Any]) -> float:
    value = body.get("horizon_h", 24.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("horizon_h must be a finite number of hours", field="horizon_h")
    if not 0.0 <= value <= MAX_HORIZON_H:
        raise InvalidInput(f"horizon_h must be in [0, {MAX_HORIZON_H:g}]", field="horizon_h")
    return float(value)


def planned_heart_rates(scenario: object) -> HeartRates:
    """The scenario's planned heart rates (checked entries), within the model's range."""
    planned: HeartRates = []
    low, high = HEART_RATE_RANGE_BPM
    for i, entry in enumerate(scenario if isinstance(scenario, list) else []):
        if entry.get("kind") != "heart_rate":
            raise InvalidInput(
                "a Windkessel scenario plans heart_rate entries only", field=f"scenario[{i}].kind"
            )
        rate = float(entry["value"])
        if not low <= rate <= high:
            raise InvalidInput(
                f"a planned heart rate must be in the model's {low:g}-{high:g} bpm",
                field=f"scenario[{i}].value",
            )
        planned.append((datetime.fromisoformat(entry["time"]), rate, entry["id"]))
    return sorted(planned)


def forecast_times(start: datetime, horizon_h: float, planned: HeartRates) -> list[datetime]:
    """Every hour from ``start`` over the horizon, and each planned change inside it."""
    end = start + timedelta(hours=horizon_h)
    hourly = [start + timedelta(hours=k) for k in range(int(horizon_h) + 1)]
    return sorted(set(hourly) | {at for at, _, _ in planned if start <= at <= end})


def forecast_request(body: Mapping[str, Any]) -> Compute:
    """Check the request now (422 naming the field); compute once the gate allows."""
    for name in REGIMEN_FIELDS:
        if body.get(name) is not None:
            raise InvalidInput(
                "a Windkessel forecast takes a scenario of planned heart_rate entries, not a "
                "regimen",
                field=name,
            )
    horizon = _horizon(body)
    start = parse_time("forecast", "start", body.get("start"))
    planned = planned_heart_rates(body.get("scenario"))

    def compute(observations: Sequence[Record], state: Mapping[str, Any]) -> dict[str, Any]:
        calibration = calibration_of(state)
        used = set(state["observation_ids"])
        patient = blood_pressures([o for o in observations if o.id in used])
        # planned heart rates override the observed ones from their time on
        observed = [(at, rate, ident, False) for at, rate, ident in heart_rates(observations)]
        ordered = sorted(observed + [(*p, True) for p in planned], key=lambda r: (r[0], r[3]))
        timeline = [(at, rate, ident) for at, rate, ident, _ in ordered]
        times = forecast_times(start, horizon, planned)
        rates = [in_force(timeline, at, None) for at in times]
        if rates[0] is None:
            raise InvalidInput(
                f"heart_rate: missing: no heart rate at or before start {start.isoformat()}; "
                "plan one in the scenario",
                field="heart_rate",
            )
        hr = np.array([r[0] if r is not None else math.nan for r in rates])
        hours = np.array([(at - start).total_seconds() / 3600.0 for at in times])
        try:
            result = forecast_pressures(calibration, hours, hr, TYPICAL_STROKE_VOLUME_ML)
            explained = explain_pressures(calibration, float(hr[0]), TYPICAL_STROKE_VOLUME_ML)
            influence = reading_influence(patient.data, calibration)
        except WindkesselDataError as exc:
            raise invalid(exc) from exc
        return {
            "forecast": dataclasses.asdict(result),
            "start": start.isoformat(),
            "explanation": [dataclasses.asdict(e) for e in explained],
            "influence": [dataclasses.asdict(i) for i in influence],
            "time_origin": patient.origin.isoformat(),
        }

    return compute


class WindkesselTwinAdapter:
    kind = KIND
    used_kinds = USED_KINDS

    def calibrate(self, observations: Sequence[Record]) -> dict[str, Any]:
        patient = blood_pressures(observations)
        try:
            result = calibrate_windkessel(patient.data)
        except WindkesselDataError as exc:
            raise invalid(exc) from exc
        return calibration_body(result, patient.data.observation_ids)

    def forecast(self, body: Mapping[str, Any]) -> Compute:
        return forecast_request(body)

    def recommendation(self, body: Mapping[str, Any], time_zone: ZoneInfo) -> Compute | None:
        return None


register(WindkesselTwinAdapter())
