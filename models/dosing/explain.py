"""Explanations of a forecast: exact Shapley values, and the levels that moved the estimate.

Players: the patient's covariates (creatinine clearance and weight timelines) and each
individual deviation (eta_CL, eta_V1, eta_V2). A player outside a coalition takes the
reference patient's value (CrCL 120 mL/min, 70 kg, eta 0). All 2^5 = 32 coalitions are
simulated exactly (no sampling), so ``base + sum(values) == forecast`` to rounding. The
forecast explained is the point forecast at the mode (AUC over the window, or a
concentration at one of the forecast's times).

Influence: the change of the MAP clearance (at the latest covariates) when each level is
left out and the rest refitted (leave-one-out; with no level left, the prior's mode). The
refits start at the full fit's mode (a warm start: the same minimum in fewer Newton steps).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from models.dosing.calibration import Calibration, calibrate, current_typical
from models.dosing.history import Course, Infusion
from models.dosing.predict import Predictor
from models.dosing.prior import REFERENCE_CRCL_ML_MIN, REFERENCE_WEIGHT_KG
from models.mechanistic._validation import FloatArray

PLAYERS: tuple[str, ...] = ("creatinine_clearance", "weight", "eta_CL", "eta_V1", "eta_V2")


def shapley_values(values: FloatArray, n_players: int) -> FloatArray:
    """Exact Shapley values from ``values[mask]``, the game's value of each coalition bitmask."""
    n = n_players
    weights = [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    phi = np.zeros(n)
    for i in range(n):
        bit = 1 << i
        for mask in range(1 << n):
            if not mask & bit:
                phi[i] += weights[bin(mask).count("1")] * (values[mask | bit] - values[mask])
    return phi


@dataclass(frozen=True)
class Explanation:
    output: str
    base: float
    value: float
    contributions: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Influence:
    """A level's leave-one-out effect on the MAP clearance (L/h), or why it has none."""

    level_id: str
    time_h: float
    cl_change: float | None
    note: str


def explain_forecast(
    course: Course,
    calibration: Calibration,
    regimen: tuple[Infusion, ...],
    auc_start_h: float,
    time_h: float | None = None,
) -> Explanation:
    """Shapley values of the window AUC24 (or the concentration at ``time_h``)."""
    eta = calibration.usable().eta_array()
    samples = np.array([auc_start_h, auc_start_h + 24.0, auc_start_h if time_h is None else time_h])
    masks = np.arange(32)
    values = np.empty(32)
    for crcl_in, weight_in in itertools.product((False, True), repeat=2):
        covariates = (
            None if crcl_in else REFERENCE_CRCL_ML_MIN,
            None if weight_in else REFERENCE_WEIGHT_KG,
        )
        predictor = Predictor(course, samples, course.infusions + regimen, covariates)
        chosen = masks[((masks & 1) > 0) == crcl_in]
        chosen = chosen[((chosen & 2) > 0) == weight_in]
        etas = np.array([[eta[k] if m & (4 << k) else 0.0 for k in range(3)] for m in chosen])
        conc, auc = predictor.predict(etas)
        values[chosen] = conc[:, 2] if time_h is not None else auc[:, 1] - auc[:, 0]
    phi = shapley_values(values, len(PLAYERS))
    name = "auc24" if time_h is None else f"concentration_at_{time_h:g}h"
    return Explanation(
        name, float(values[0]), float(values[31]), tuple(zip(PLAYERS, map(float, phi), strict=True))
    )


def level_influence(course: Course, calibration: Calibration) -> tuple[Influence, ...]:
    """Levels by decreasing ``|change of MAP CL|`` when each one is left out."""
    typical_cl = float(current_typical(course)[0])
    posterior = calibration.usable()
    cl_all = posterior.parameter("CL")
    result = []
    for index, level in enumerate(course.levels):
        reduced = course.without_level(index)
        first_dose = min(d.start_h for d in course.infusions)
        if any(lv.time_h > first_dose for lv in reduced.levels):
            refit = calibrate(reduced, start=posterior.eta_array())
            if refit.posterior is None:
                result.append(Influence(level.id, level.time_h, None, refit.message))
                continue
            cl_without, note = refit.posterior.parameter("CL"), "refitted without it"
        else:
            cl_without, note = typical_cl, "no other level: the prior's mode"
        result.append(Influence(level.id, level.time_h, cl_all - cl_without, note))
    return tuple(
        sorted(result, key=lambda r: (r.cl_change is None, -abs(r.cl_change or 0.0), r.time_h))
    )
