"""Windkessel calibration figures: recovery on virtual patients and the cost of a fit.

``python -m models.calibration.bench_windkessel`` draws virtual patients from the prior
(η of ``R_p`` and ``C``), gives each a few cuff readings at heart rates drawn in 55-100 bpm
with the cuff's error (SD 8 mmHg on systolic and diastolic), calibrates, and prints the
median absolute log error of each parameter calibrated against the prior-only one (the
typical value, ``|η|``), the share of true values inside the 90 % Laplace intervals, the
fits that failed, and the milliseconds of a calibration and of a forecast with its
explanation and leave-one-out influence.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from models.calibration.windkessel import BloodPressures, Reading, calibrate_windkessel
from models.calibration.windkessel_forecast import (
    explain_pressures,
    forecast_pressures,
    reading_influence,
)
from models.calibration.windkessel_prior import (
    CUFF_SD_MMHG,
    OMEGA,
    PARAMETER_NAMES,
    TYPICAL_STROKE_VOLUME_ML,
    pressures,
)
from models.mechanistic._validation import FloatArray

HEART_RATES_BPM = (55.0, 100.0)
Z90 = 1.6448536269514722


def virtual_patient(seed: int, n_readings: int) -> tuple[BloodPressures, FloatArray]:
    """A patient drawn from the prior with ``n_readings`` noisy cuff readings, and its η."""
    rng = np.random.default_rng(seed)
    eta = OMEGA * rng.standard_normal(2)
    hr = rng.uniform(*HEART_RATES_BPM, n_readings)
    truth = pressures(eta, hr, np.full(n_readings, TYPICAL_STROKE_VOLUME_ML))[0]
    readings = []
    for i in range(n_readings):
        systolic, diastolic = truth[i, :2] + CUFF_SD_MMHG * rng.standard_normal(2)
        while systolic <= diastolic:  # a cuff reports systolic above diastolic
            systolic, diastolic = truth[i, :2] + CUFF_SD_MMHG * rng.standard_normal(2)
        readings.append(
            Reading(f"bp{i}", 24.0 * i, float(systolic), float(diastolic), float(hr[i]))
        )
    ids = tuple(r.id for r in readings)
    return BloodPressures(tuple(readings), ids), eta


def recovery(n_patients: int = 200, n_readings: int = 4, seed: int = 0) -> dict[str, Any]:
    """Errors of the calibrations against the prior's, interval coverage, failures."""
    errors, prior_errors, inside, failed = [], [], [], 0
    start = time.perf_counter()
    for patient in range(n_patients):
        data, truth = virtual_patient(seed + patient, n_readings)
        result = calibrate_windkessel(data)
        if result.posterior is None:
            failed += 1
            continue
        eta = result.posterior.eta_array()
        errors.append(np.abs(eta - truth))
        prior_errors.append(np.abs(truth))
        inside.append(np.abs(eta - truth) <= Z90 * np.array(result.posterior.sd))
    return {
        "patients": n_patients,
        "readings": n_readings,
        "parameters": PARAMETER_NAMES,
        "median_abs_log_error": np.median(errors, axis=0).tolist(),
        "prior_median_abs_log_error": np.median(prior_errors, axis=0).tolist(),
        "coverage_90": np.mean(inside, axis=0).tolist(),
        "failed_fits": failed,
        "seconds": time.perf_counter() - start,
    }


def _best_ms(fn: Any, repeats: int = 5) -> float:
    fn()  # compile and warm
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return float(best) * 1e3


def timings(n_readings: int = 4) -> dict[str, float]:
    """Milliseconds of one calibration and of a 24-hour forecast with its explanations."""
    data, _ = virtual_patient(1, n_readings)
    calibration = calibrate_windkessel(data)
    hours = np.arange(25.0)
    rates = np.where(hours < 12, 70.0, 90.0)

    def forecast() -> None:
        forecast_pressures(calibration, hours, rates, TYPICAL_STROKE_VOLUME_ML)
        explain_pressures(calibration, 70.0, TYPICAL_STROKE_VOLUME_ML)
        reading_influence(data, calibration)

    return {
        "calibration_ms": _best_ms(lambda: calibrate_windkessel(data)),
        "forecast_explained_ms": _best_ms(forecast),
    }


def main() -> None:
    for n in (1, 4, 12):
        print(f"windkessel recovery, {n} readings:", recovery(n_readings=n))
    print("windkessel timings (4 readings):", timings())


if __name__ == "__main__":
    main()
