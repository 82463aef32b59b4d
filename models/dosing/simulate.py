"""Virtual vancomycin patients drawn from the prior, and the recovery figures.

Issue 14's design: CrCL uniform in [30, 150] mL/min, weight uniform in [50, 120] kg, etas
from the prior, 15 mg/kg every 12 h as 1-h infusions; levels 1 h after the 4th infusion
ends (t = 38 h) and 0.5 h before the 5th (47.5 h), a held-out trough 0.5 h before the 7th
(71.5 h). Levels carry the residual error ``sd^2 = 3.4^2 + (0.227 C)^2``; a laboratory
reports no negative concentration, so a simulated value below 0 is reported as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.dosing.calibration import calibrate
from models.dosing.forecast import forecast
from models.dosing.history import Course, Infusion, Level, TimedValue
from models.dosing.predict import Predictor
from models.dosing.prior import OMEGA, residual_variance

LEVEL_TIMES = (38.0, 47.5)
HELD_OUT_H = 71.5


@dataclass(frozen=True)
class VirtualPatient:
    course: Course
    true_cl: float
    typical_cl: float
    held_out: float


def virtual_patient(rng: np.random.Generator, index: int) -> VirtualPatient:
    crcl = float(rng.uniform(30.0, 150.0))
    weight = float(rng.uniform(50.0, 120.0))
    eta = OMEGA * rng.standard_normal(3)
    dose = 15.0 * weight
    infusions = tuple(Infusion(dose, 12.0 * i, 1.0, f"p{index}-dose-{i}") for i in range(6))
    empty = Course(infusions, (), (TimedValue(0.0, crcl),), (TimedValue(0.0, weight),))
    predictor = Predictor(empty, [*LEVEL_TIMES, HELD_OUT_H])
    truth = predictor.predict(eta)[0][0]
    noisy = truth + np.sqrt(residual_variance(truth)) * rng.standard_normal(truth.size)
    measured = np.maximum(noisy, 0.0)
    levels = tuple(
        Level(t, float(c), f"p{index}-level-{k}")
        for k, (t, c) in enumerate(zip(LEVEL_TIMES, measured[:2], strict=True))
    )
    course = Course(infusions, levels, empty.creatinine_clearance, empty.weight)
    typical_cl = float(predictor.typical[0, 0])
    return VirtualPatient(
        course, typical_cl * float(np.exp(eta[0])), typical_cl, float(measured[2])
    )


def recovery(n_patients: int, seed: int) -> dict[str, float]:
    """Median |error| of the MAP and prior CL, the MAP's median bias, held-out coverage."""
    rng = np.random.default_rng(seed)
    map_err, prior_err, rel_err, covered, failed = [], [], [], [], 0
    for index in range(n_patients):
        patient = virtual_patient(rng, index)
        calibration = calibrate(patient.course)
        if calibration.posterior is None:
            failed += 1
            continue
        cl = calibration.posterior.parameter("CL")
        map_err.append(abs(cl - patient.true_cl))
        prior_err.append(abs(patient.typical_cl - patient.true_cl))
        rel_err.append(cl / patient.true_cl - 1.0)
        result = forecast(patient.course, calibration, (), [HELD_OUT_H], 0.0)
        low, high = result.concentration_low[0], result.concentration_high[0]
        covered.append(low <= patient.held_out <= high)
    return {
        "patients": float(n_patients),
        "failed_fits": float(failed),
        "median_abs_error_map": float(np.median(map_err)),
        "median_abs_error_prior": float(np.median(prior_err)),
        "error_ratio": float(np.median(map_err) / np.median(prior_err)),
        "median_bias": float(np.median(rel_err)),
        "coverage_90": float(np.mean(covered)),
    }
