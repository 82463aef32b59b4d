"""The demo's glucose patient twin (type 1 diabetes), through the service methods the API
uses: a virtual adult made with the project's own kernel (a simglucose cohort adult's Vmx,
kp3 and kabs on the cohort's median physiology; seeded: three days of CGM every 5 min with
Ornstein-Uhlenbeck noise, three meals a day with carb-ratio boluses, a constant basal
rate), ingested, calibrated, and forecast for the next day's planned meals, all printed in
words with units."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from rich.console import Console

from api.composition.service import TwinregService
from governance.identity.principal import Principal
from governance.twins.views import Record
from models.calibration.bench import virtual_days
from models.calibration.glucose_days import GlucoseDays
from models.calibration.glucose_prior import LOG_MEDIAN
from models.mechanistic.glucose import virtual_cohort
from models.mechanistic.glucose_events import BASAL_RATE, BOLUS, MEAL

PATIENT = "patient-004"
MODEL = "glucose-t1d-tir"
PURPOSE = "treatment"
CATEGORIES = ["demographics", "history", "labs", "medication"]
#: The virtual adult: cohort subject 14 (adult#004), three days, seeded.
SUBJECT, N_DAYS, SEED = 14, 3, 14
ORIGIN = datetime(2026, 3, 1, tzinfo=UTC)
#: The next day's plan: (hour, g of carbohydrate).
PLANNED_MEALS = ((7.5, 45.0), (12.5, 80.0), (19.0, 65.0))
CHUNK = 250
Z90 = 1.6448536269514722
UNITS = {"Vmx": "mg/kg/min per pmol/L", "kp3": "mg/kg/min per pmol/L", "kabs": "1/min"}


def at_minutes(minutes: float) -> str:
    return (ORIGIN + timedelta(minutes=float(minutes))).isoformat()


def _obs(ident: str, kind: str, minutes: float, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "source": "demo-pump", "kind": kind, "time": at_minutes(minutes), **fields}


def glucose_observations(days: GlucoseDays) -> list[dict[str, Any]]:
    """The record as observation entries from :data:`ORIGIN`: weight, basal spans (each to
    the next change, the last to the last CGM reading), meals, boluses, CGM readings."""
    s = days.schedule
    end = float(days.cgm_times[-1])
    out = [_obs("weight", "weight", 0.0, value=days.weight_kg, unit="kg")]
    basal_times = [float(t) for t in s.times[s.kinds == BASAL_RATE]] + [end]
    for i, rate in enumerate(s.values[s.kinds == BASAL_RATE]):
        span = {
            "rate": {"value": round(float(rate), 4), "unit": "[IU]/h"},
            "start": at_minutes(basal_times[i]),
            "end": at_minutes(basal_times[i + 1]),
        }
        out.append(_obs(f"basal-{i}", "insulin_basal", basal_times[i], components=span))
    for i, (t, grams) in enumerate(zip(s.times[s.kinds == MEAL], s.values[s.kinds == MEAL],
                                       strict=True)):  # fmt: skip
        parts = {"carbs": {"value": round(float(grams), 1), "unit": "g"}, "start": at_minutes(t)}
        out.append(_obs(f"meal-{i}", "meal", t, components=parts))
    for i, (t, units) in enumerate(zip(s.times[s.kinds == BOLUS], s.values[s.kinds == BOLUS],
                                       strict=True)):  # fmt: skip
        out.append(_obs(f"bolus-{i}", "insulin_bolus", t, value=round(float(units), 2),
                        unit="[IU]"))  # fmt: skip
    for i, (t, g) in enumerate(zip(days.cgm_times, days.cgm_mg_dl, strict=True)):
        out.append(_obs(f"cgm-{i:04d}", "glucose_cgm", t, value=round(float(g), 1),
                        unit="mg/dL", code="99504-3"))  # fmt: skip
    return out


def planned_day(start_min: float, carb_ratio: float) -> list[dict[str, Any]]:
    """The next day's meals with carb-ratio boluses, as scenario entries."""
    plan: list[dict[str, Any]] = []
    for hour, grams in PLANNED_MEALS:
        at = at_minutes(start_min + hour * 60.0)
        plan.append(
            {
                "kind": "meal",
                "time": at,
                "components": {"carbs": {"value": grams, "unit": "g"}, "start": at},
            }
        )
        plan.append({"kind": "insulin_bolus", "time": at,
                     "value": round(grams / carb_ratio, 1), "unit": "[IU]"})  # fmt: skip
    return plan


def run_glucose_twin_demo(service: TwinregService, clinician: Principal, console: Console) -> None:
    assert clinician.site is not None
    days, truth = virtual_days(SUBJECT, N_DAYS, seed=SEED)
    service.patients.register(clinician, PATIENT, clinician.site)
    service.patients.grant(clinician, PATIENT, PURPOSE, CATEGORIES, None, None)
    twins = service.twins
    twin = twins.create(clinician, PATIENT, MODEL, None, PURPOSE)
    console.print(f"twin {twin.id} of {PATIENT}: {twin.model} v{twin.model_version}, state 0")
    entries = glucose_observations(days)
    for i in range(0, len(entries), CHUNK):
        twins.ingest(clinician, PATIENT, entries[i : i + CHUNK], None, None)
    console.print(
        f"observations stored: {len(entries)} ({days.cgm_times.size} CGM readings every 5 min "
        f"over {N_DAYS} days, {int(np.sum(days.schedule.kinds == MEAL))} meals with boluses, "
        f"basal {days.basal_u_per_h():.2f} U/h, {days.weight_kg:.1f} kg)"
    )
    state = twins.calibrate(clinician, PATIENT, twin.id)
    for line in estimate_words(state, np.exp(LOG_MEDIAN + truth)):
        console.print(line)
    start = N_DAYS * 1440.0
    carb_ratio = float(virtual_cohort().carb_ratio[SUBJECT - 1])
    request = {
        "start": at_minutes(start),
        "horizon_h": 24.0,
        "scenario": planned_day(start, carb_ratio),
    }
    predicted = twins.output(clinician, PATIENT, twin.id, "forecast", request)
    for line in forecast_words(predicted.body):
        console.print(line)


def estimate_words(state: Record, truth: Any) -> list[str]:
    posterior = state.body["posterior"]
    lines = [f"calibrated (state {state.number}, {state.body['message']}):"]
    for k, (name, value) in enumerate(posterior["parameters"]):
        sd, shrink = posterior["sd"][k], posterior["shrinkage"][k]
        low, high = value * math.exp(-Z90 * sd), value * math.exp(Z90 * sd)
        lines.append(
            f"  {name} {value:.4g} {UNITS[name]} (90% {low:.4g}-{high:.4g}; prior median "
            f"{math.exp(LOG_MEDIAN[k]):.4g}, shrinkage {shrink:.2f}; the virtual patient's "
            f"true value {float(truth[k]):.4g})"
        )
    return lines


def forecast_words(body: dict[str, Any]) -> list[str]:
    f, mean, tir = body["forecast"], body["explanation"], body["explanation_time_in_range"]
    lines = [
        f"forecast of the next {f['horizon_h']:g} h with the planned meals: time in range "
        f"70-180 mg/dL {f['time_in_range']:.0f}% (90%: {f['time_in_range_low']:.0f}-"
        f"{f['time_in_range_high']:.0f}%), mean glucose {f['mean_glucose']:.0f} mg/dL "
        f"(90%: {f['mean_glucose_low']:.0f}-{f['mean_glucose_high']:.0f} mg/dL), highest "
        f"{max(f['plasma']):.0f} mg/dL, lowest {min(f['plasma']):.0f} mg/dL",
        f"  mean glucose against the cohort's median person ({mean['base']:.0f} mg/dL -> "
        f"{mean['value']:.0f} mg/dL): "
        + ", ".join(f"{n} {v:+.1f} mg/dL" for n, v in mean["contributions"]),
        f"  time in range against it ({tir['base']:.0f}% -> {tir['value']:.0f}%): "
        + ", ".join(f"{n} {v:+.1f} points" for n, v in tir["contributions"]),
    ]
    top = body["influence"][0]
    if top["distance"] is not None:
        moved = ", ".join(f"{n} x{r:.3f}" for n, r in top["ratios"])
        lines.append(
            f"  the day of CGM that moved the estimate most: day {top['day'] + 1} (from "
            f"{top['date']}; {top['distance']:.2f} posterior SDs; with it / without it: "
            f"{moved})"
        )
    return lines
