"""Radiotherapy calibration figures: recovery of virtual patients drawn from the prior.

``python -m models.calibration.bench_radiotherapy`` draws patients' η from the prior
(seeded), gives each the standard course — a planning volume at day 0, then 2 Gy x 30 on
weekdays from day 7 (six weeks) with a volume every Monday before the fraction, log-normal
measurement noise of the prior's SD — and prints, per parameter, the median absolute error
on the log scale of the MAP against the prior-only estimate (η = 0, the typical patient),
the share of true values inside the 90 % Laplace intervals, the fits that failed, and the
milliseconds of one calibration and of one forecast with its explanation (best of three).
A second course adds a follow-up volume four weeks after the last fraction (regrowth).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy.optimize import minimize

from models.calibration.radiotherapy import Residuals, calibrate_radiotherapy
from models.calibration.radiotherapy_course import Fraction, RadiotherapyCourse, Volume, simulate
from models.calibration.radiotherapy_explain import explain_forecast, volume_influence
from models.calibration.radiotherapy_forecast import forecast_tumour
from models.calibration.radiotherapy_prior import ETA_NAMES, OMEGA, SIGMA_LOG
from models.mechanistic._validation import FloatArray
from models.mechanistic.radiotherapy import weekday_schedule

PATIENTS = 200
SEED = 14
#: Volume days of the standard course: planning CT, then each Monday of the six weeks and
#: the Monday after; with ``follow_up``, also four weeks after the last fraction.
VOLUME_DAYS = (0.0, 7.0, 14.0, 21.0, 28.0, 35.0, 42.0, 49.0)
FOLLOW_UP_DAY = 77.0


def standard_fractions() -> tuple[Fraction, ...]:
    """2 Gy x 30, weekdays from day 7 at 09:00 (volumes are taken at 08:00)."""
    days = weekday_schedule(30, 7.0) + 1.0 / 24.0
    return tuple(Fraction(float(t), 2.0, f"fx{i}") for i, t in enumerate(days))


def virtual_course(
    eta: FloatArray, rng: np.random.Generator, follow_up: bool = False
) -> RadiotherapyCourse:
    """One patient's standard course with noisy volumes."""
    fractions = standard_fractions()
    days = np.array(VOLUME_DAYS + ((FOLLOW_UP_DAY,) if follow_up else ()))
    truth = simulate(eta[None, :], fractions, days)[0]
    measured = truth * np.exp(SIGMA_LOG * rng.standard_normal(days.size))
    volumes = tuple(
        Volume(float(t), float(v), f"v{i}")
        for i, (t, v) in enumerate(zip(days, measured, strict=True))
    )
    return RadiotherapyCourse(fractions, volumes)


def recovery(
    n_patients: int = PATIENTS, follow_up: bool = False, seed: int = SEED
) -> dict[str, Any]:
    """Errors of the calibrated η against the prior-only's, and interval coverage."""
    rng = np.random.default_rng(seed)
    truths = rng.standard_normal((n_patients, len(ETA_NAMES))) * OMEGA
    errors, inside, failed = [], [], 0
    for truth in truths:
        calibration = calibrate_radiotherapy(virtual_course(truth, rng, follow_up))
        if calibration.posterior is None:
            failed += 1
            continue
        eta = calibration.posterior.eta_array()
        errors.append(np.abs(eta - truth))
        inside.append(np.abs(eta - truth) <= 1.6449 * np.array(calibration.posterior.sd))
    return {
        "patients": n_patients,
        "parameters": ETA_NAMES,
        "median_abs_log_error": np.median(errors, axis=0).tolist(),
        "prior_median_abs_log_error": np.median(np.abs(truths), axis=0).tolist(),
        "coverage_90": np.mean(inside, axis=0).tolist(),
        "failed_fits": failed,
    }


def _best_ms(run: Any, repeats: int = 3) -> float:
    run()  # compile and warm
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return float(best * 1e3)


def _scipy_map(course: RadiotherapyCourse) -> FloatArray:
    """The plain scipy version: BFGS on the same objective, finite-difference gradient."""
    objective = Residuals(course).objective
    found: FloatArray = minimize(objective, np.zeros(len(ETA_NAMES)), method="BFGS").x
    return found


def timings() -> dict[str, float]:
    """Milliseconds of one calibration (and of plain scipy BFGS on the same objective), and
    of one 28-day forecast with its explanation and leave-one-out influence."""
    course = virtual_course(np.zeros(len(ETA_NAMES)), np.random.default_rng(SEED))
    calibration = calibrate_radiotherapy(course)
    times = np.arange(49.0, 77.5, 1.0)
    difference = np.abs(_scipy_map(course) - calibration.usable().eta_array())

    def forecast() -> None:
        forecast_tumour(course, calibration, (), times)
        explain_forecast(course, calibration, (), 77.0)
        volume_influence(course, calibration)

    return {
        "calibration_ms": _best_ms(lambda: calibrate_radiotherapy(course)),
        "scipy_bfgs_ms": _best_ms(lambda: _scipy_map(course)),
        "max_abs_eta_difference": float(difference.max()),
        "forecast_explained_ms": _best_ms(forecast),
    }


def main() -> None:
    print("radiotherapy calibration, standard course:", recovery())
    print("radiotherapy calibration, with a follow-up volume:", recovery(follow_up=True))
    print("radiotherapy timings:", timings())


if __name__ == "__main__":
    main()
