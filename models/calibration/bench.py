"""Glucose calibration figures: recovery on the cohort and the time of a 14-day fit.

``python -m models.calibration.bench`` prints, for the 30 virtual patients (the cohort's
Vmx, kp3 and kabs on the median physiology, each at its own weight and basal rate, three
meals a day at varying times and sizes with carb-ratio boluses, CGM every 5 min with
simglucose's GuardianRT noise when simglucose is installed, else the prior's AR noise),
the median absolute log error of each calibrated parameter against its prior's, the share
of true values inside the 90% Laplace intervals, the seconds of one calibration on 14
days of CGM (best of three), and of one forecast of the next day after three days of CGM
(250 posterior draws, its Shapley explanation, the leave-one-day-out refits; best of three).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import resources

import numpy as np

from models.calibration.glucose import calibrate_glucose
from models.calibration.glucose_days import GlucoseDays, basal_insulin, kernel_days, simulate_cgm
from models.calibration.glucose_forecast import explain_glucose, forecast_glucose
from models.calibration.glucose_influence import day_influence
from models.calibration.glucose_prior import (
    CGM_SD_MG_DL,
    CGM_TAU_MIN,
    LOG_MEDIAN,
    PARAMETER_INDEX,
    PARAMETER_NAMES,
    person_parameters,
)
from models.mechanistic._validation import FloatArray
from models.mechanistic.glucose import GlucoseSchedule, virtual_cohort

#: Meals of the virtual days: (hour, g of carbohydrate), each varied per day.
MEALS: tuple[tuple[float, float], ...] = ((7.0, 50.0), (12.5, 70.0), (18.5, 60.0))
CGM_STEP_MIN = 5.0


def _noise(n: int, seed: int) -> FloatArray:
    """simglucose's GuardianRT CGM noise when installed (a dev extra), else the prior's
    Ornstein-Uhlenbeck noise sampled every 5 min."""
    try:
        import pandas as pd
        from simglucose.sensor.noise_gen import CGMNoise  # type: ignore[import-untyped]
    except ImportError:
        rng = np.random.default_rng(seed)
        rho = np.exp(-CGM_STEP_MIN / CGM_TAU_MIN)
        e = np.empty(n)
        e[0] = rng.normal(0.0, CGM_SD_MG_DL)
        for i in range(1, n):
            e[i] = rho * e[i - 1] + rng.normal(0.0, CGM_SD_MG_DL * np.sqrt(1 - rho**2))
        return e
    table = pd.read_csv(str(resources.files("simglucose") / "params" / "sensor_params.csv"))
    generator = CGMNoise(table[table.Name == "GuardianRT"].iloc[0], seed=seed)
    return np.array([next(generator) for _ in range(n)], dtype=np.float64)


def virtual_days(subject: int, n_days: int, seed: int) -> tuple[GlucoseDays, FloatArray]:
    """Subject ``subject`` (1-30)'s days with noisy CGM, and its true η."""
    cohort = virtual_cohort()
    i = subject - 1
    rng = np.random.default_rng(seed)
    weight = float(cohort.params[i, 0])
    basal = float(cohort.basal_u_per_h[i])
    events = [(0.0, 2, basal)]
    for day in range(n_days):
        for hour, grams in MEALS:
            at = float(round(day * 1440.0 + hour * 60.0 + rng.uniform(-30.0, 30.0)))
            carbs = grams * rng.uniform(0.7, 1.3)
            events += [(at, 0, carbs), (at, 1, carbs / float(cohort.carb_ratio[i]))]
    events.sort(key=lambda e: e[0])
    schedule = GlucoseSchedule.from_arrays(*(np.array([e[j] for e in events]) for j in range(3)))
    times = np.arange(0.0, n_days * 1440.0 + 1.0, CGM_STEP_MIN)
    eta = np.log(cohort.params[i, list(PARAMETER_INDEX)]) - LOG_MEDIAN
    ib = basal_insulin(person_parameters(np.zeros(3), weight, 0.0), basal)
    record = kernel_days(GlucoseDays(schedule, times, times, weight))
    truth = simulate_cgm(person_parameters(eta, weight, ib)[None, :], record)[0]
    cgm = np.clip(truth + _noise(times.size, seed + 1), 39.0, 600.0)
    return GlucoseDays(schedule, times, cgm, weight), eta


def recovery(n_days: int = 3) -> dict[str, object]:
    """Errors of the 30 calibrations against the prior's, and interval coverage."""
    errors, prior_errors, inside = [], [], []
    for subject in range(1, 31):
        days, truth = virtual_days(subject, n_days, seed=subject)
        posterior = calibrate_glucose(days).usable()
        eta = np.array(posterior.eta)
        errors.append(np.abs(eta - truth))
        prior_errors.append(np.abs(truth))
        inside.append(np.abs(eta - truth) <= 1.6449 * np.array(posterior.sd))
    return {
        "parameters": PARAMETER_NAMES,
        "median_abs_log_error": np.median(errors, axis=0).tolist(),
        "prior_median_abs_log_error": np.median(prior_errors, axis=0).tolist(),
        "coverage_90": np.mean(inside, axis=0).tolist(),
    }


def fourteen_days_seconds(repeats: int = 3) -> float:
    days, _ = virtual_days(11, 14, seed=11)
    return _best_of(repeats, lambda: calibrate_glucose(days))


def _best_of(repeats: int, run: Callable[[], object]) -> float:
    run()  # compile and warm
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return float(best)


def next_day(days: GlucoseDays, carb_ratio: float) -> GlucoseSchedule:
    """The record's schedule plus a next day of :data:`MEALS` with carb-ratio boluses."""
    s, start = days.schedule, float(days.cgm_times[-1])
    extra = [(start + h * 60.0, kind, g if kind == 0 else g / carb_ratio)
             for h, g in MEALS for kind in (0, 1)]  # fmt: skip
    times = np.concatenate([s.times, [e[0] for e in extra]])
    order = np.argsort(times, kind="stable")
    kinds = np.concatenate([s.kinds, [e[1] for e in extra]])[order]
    values = np.concatenate([s.values, [e[2] for e in extra]])[order]
    return GlucoseSchedule.from_arrays(times[order], kinds, values)


def forecast_seconds(repeats: int = 3) -> dict[str, float]:
    """Seconds of a next-day forecast after 3 days: intervals, explanation, influence."""
    days, _ = virtual_days(11, 3, seed=11)
    calibration = calibrate_glucose(days)
    plan = next_day(days, float(virtual_cohort().carb_ratio[10]))
    start = float(days.cgm_times[-1])
    return {
        "forecast": _best_of(repeats, lambda: forecast_glucose(days, calibration, plan, start,
                                                               1440.0)),
        "explanation": _best_of(repeats, lambda: explain_glucose(days, calibration, plan, start,
                                                                 1440.0)),
        "influence": _best_of(repeats, lambda: day_influence(days, calibration)),
    }  # fmt: skip


def main() -> None:
    print("glucose calibration, 30 virtual patients, 3 days of CGM:", recovery())
    print(f"glucose calibration on 14 days of CGM: {fourteen_days_seconds():.3f} s")
    print("glucose forecast of the next day after 3 days of CGM (s):", forecast_seconds())


if __name__ == "__main__":
    main()
