"""Vancomycin precision-dosing figures, measured side by side in one run.

Run as ``python -m models.dosing.bench``. Prints the 1,000-virtual-patient recovery
(:func:`models.dosing.simulate.recovery`), the calibration time with 4 levels against a
plain scipy version (BFGS with finite-difference gradients on the same objective, then a
finite-difference Hessian), the recommendation over the issue's grid, and a forecast with
its explanation (Shapley values and leave-one-out influence).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize

from models.dosing.calibration import calibrate
from models.dosing.explain import explain_forecast, level_influence
from models.dosing.forecast import forecast, repeated_infusions
from models.dosing.history import Course, Level
from models.dosing.objective import objective
from models.dosing.predict import Predictor
from models.dosing.recommend import DosingGrid, recommend
from models.dosing.simulate import recovery, virtual_patient
from models.mechanistic._validation import FloatArray


def _ms_per_call(fn: Callable[[], object], min_seconds: float = 0.5) -> float:
    fn()
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        fn()
        calls += 1
    return 1000.0 * elapsed / max(calls, 1)


def _four_level_course() -> Course:
    patient = virtual_patient(np.random.default_rng(4), 0)
    course = patient.course
    extra = (Level(59.0, 30.0, "l3"), Level(71.5, 17.0, "l4"))
    return Course(
        course.infusions, course.levels + extra, course.creatinine_clearance, course.weight
    )


def scipy_calibration(course: Course) -> tuple[FloatArray, FloatArray]:
    """The plain way: BFGS with numerical gradients, then a finite-difference Hessian."""
    times = np.array([lv.time_h for lv in course.levels])
    y = np.array([lv.concentration_mg_l for lv in course.levels])
    predictor = Predictor(course, times)

    def ofv(eta: FloatArray) -> float:
        return objective(y, predictor.predict(eta)[0][0], eta)

    eta = minimize(ofv, np.zeros(3), method="BFGS", options={"gtol": 1e-6}).x
    h, hessian = 1e-3, np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = h * np.eye(3)[i], h * np.eye(3)[j]
            hessian[i, j] = (
                ofv(eta + ei + ej) - ofv(eta + ei - ej) - ofv(eta - ei + ej) + ofv(eta - ei - ej)
            ) / (4 * h * h)
    covariance: FloatArray = np.asarray(2.0 * np.linalg.inv(hessian), dtype=np.float64)
    return np.asarray(eta, dtype=np.float64), covariance


def dosing_benchmarks(n_patients: int = 1000, seed: int = 2018) -> list[dict[str, Any]]:
    start = time.perf_counter()
    figures = recovery(n_patients, seed)
    results: list[dict[str, Any]] = [
        {"name": f"recovery, {n_patients} virtual patients", **figures,
         "seconds": time.perf_counter() - start}
    ]  # fmt: skip
    course = _four_level_course()
    ours = calibrate(course)
    eta_scipy, _ = scipy_calibration(course)
    results.append(
        {
            "name": "calibration, 4 levels",
            "ms": _ms_per_call(lambda: calibrate(course)),
            "scipy_bfgs_fd_hessian_ms": _ms_per_call(lambda: scipy_calibration(course)),
            "max_abs_eta_difference": float(np.max(np.abs(ours.usable().eta_array() - eta_scipy))),
        }
    )
    grid = DosingGrid((8.0, 12.0, 24.0), 250.0, 4000.0, (400.0, 600.0), 25.0)
    results.append(
        {
            "name": "recommendation, grid q8/q12/q24 h, 250 mg steps, 4000 mg/day",
            "regimens": len(recommend(course, ours, grid).regimens),
            "ms": _ms_per_call(lambda: recommend(course, ours, grid)),
        }
    )
    regimen = repeated_infusions(1250.0, 12.0, 6, 72.0)
    times = np.arange(72.0, 144.0, 1.0)

    def forecast_explained() -> None:
        forecast(course, ours, regimen, times, 120.0)
        explain_forecast(course, ours, regimen, 120.0)
        level_influence(course, ours)

    results.append(
        {
            "name": "forecast (72 times, 2000 draws) with explanation",
            "ms": _ms_per_call(forecast_explained),
        }
    )
    return results


if __name__ == "__main__":
    for row in dosing_benchmarks():
        print(row)
