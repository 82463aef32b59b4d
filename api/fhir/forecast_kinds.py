"""The forecast quantities of each twin kind (:mod:`api.fhir.forecasts` says them as
Observations). A forecast record's kind is known by its body: the vancomycin twin's has an
AUC24, the glucose twin's CGM curves, the Windkessel twin's mean arterial pressure, the
radiotherapy twin's volume at the horizon."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from api.fhir.forecasts import Forecast, Said, at, curve, observation, period, scalar
from governance.policy.fhir_terms import FhirTerms
from governance.twins.views import Record, TwinView

Quantities = Callable[[Forecast], list[Said | None]]
_PRESSURES = (("systolic", "systolic"), ("diastolic", "diastolic"),
              ("map", "mean-arterial-pressure"))  # fmt: skip


def _contributions(explanation: Any) -> Any:
    return (explanation or {}).get("contributions") or ()


def vancomycin(forecast: Forecast) -> list[Said | None]:
    f, origin = forecast.body["forecast"], datetime.fromisoformat(forecast.body["time_origin"])
    start = origin + timedelta(hours=float(f["auc_start_h"]))
    auc = scalar("vancomycin-auc24", "auc24", f, "auc24", "mg.h/L",
                 period(start, start + timedelta(hours=24)),
                 _contributions(forecast.body.get("explanation")))  # fmt: skip
    times = [float(t) for t in f["times"]]
    return [auc, curve("vancomycin-concentration", "concentration", f, "concentration", "mg/L",
                       times, origin)]  # fmt: skip


def glucose(forecast: Forecast) -> list[Said | None]:
    body, f = forecast.body, forecast.body["forecast"]
    start = datetime.fromisoformat(f["start"])
    window = period(start, start + timedelta(hours=float(f["horizon_h"])))
    times = [float(t) for t in f["times_h"]]
    return [
        scalar("glucose-mean", "mean", f, "mean_glucose", "mg/dL", window,
               _contributions(body.get("explanation"))),
        scalar("glucose-time-in-range", "time-in-range", f, "time_in_range", "%", window,
               _contributions(body.get("explanation_time_in_range"))),
        curve("glucose-plasma", "plasma", f, "plasma", "mg/dL", times, start),
        curve("glucose-cgm", "cgm", f, "cgm", "mg/dL", times, start),
    ]  # fmt: skip


def _point(f: Mapping[str, Any], index: int) -> dict[str, float]:
    return {k: float(v[index]) for k, v in f.items() if isinstance(v, list) and v}


def windkessel(forecast: Forecast) -> list[Said | None]:
    """Each pressure at the start and at the horizon; the explanation (the steady beat at
    the start's heart rate) goes with each value it adds up to."""
    body, f = forecast.body, forecast.body["forecast"]
    start = datetime.fromisoformat(body["start"])
    explained = {e["output"]: e for e in body.get("explanation") or []}
    out: list[Said | None] = []
    for key, name in _PRESSURES:
        for index, part in ((0, "start"), (-1, "horizon")):
            values = _point(f, index)
            when = at(start + timedelta(hours=values["times_h"]))
            e = explained.get(key) or {}
            same = "value" in e and math.isclose(float(e["value"]), values[key], rel_tol=1e-9)
            out.append(scalar(name, f"{name}-{part}", values, key, "mm[Hg]", when,
                              _contributions(e) if same else ()))  # fmt: skip
    return out


def radiotherapy(forecast: Forecast) -> list[Said | None]:
    body, f = forecast.body, forecast.body["forecast"]
    end = datetime.fromisoformat(body["time_origin"]) + timedelta(days=float(f["times"][-1]))
    return [scalar("tumour-volume", "volume-at-horizon", f, "volume_at_horizon", "cm3", at(end),
                   _contributions(body.get("explanation")))]  # fmt: skip


#: (key its forecast alone has, its quantities)
KINDS: tuple[tuple[str, Quantities], ...] = (
    ("auc24", vancomycin),
    ("cgm", glucose),
    ("map", windkessel),
    ("volume_at_horizon", radiotherapy),
)


def forecast_observations(
    twin: TwinView, version: str, record: Record, terms: FhirTerms, patient_id: str
) -> list[dict[str, Any]]:
    """The Observations of a forecast record (none for a body of no kind here)."""
    body = record.body.get("forecast")
    if not isinstance(body, dict):
        return []
    quantities = next((q for key, q in KINDS if key in body), None)
    if quantities is None:
        return []
    forecast = Forecast(twin, version, record, terms, patient_id)
    return [observation(forecast, s) for s in quantities(forecast) if s is not None]
