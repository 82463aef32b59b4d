"""A trial arm over (part of) a cohort: each patient's exposure to the arm's regimen.

Outputs (:data:`OUTPUTS`), from time 0 with an empty body over the trial's horizon
(default 72 h):

- ``auc24`` — AUC (mg·h/L) over the last 24 h of the horizon;
- ``trough`` — the concentration (mg/L) at the end of the last complete dosing interval
  within the horizon (``interval_h · min(n_doses, floor(horizon / interval_h))``): just
  before the next dose when one follows;
- ``peak`` — the highest concentration (mg/L) at the end of an infusion (or at the
  horizon), the clinical peak of intermittent infusions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.dosing.history import Course, Infusion, TimedValue, event_grid
from models.mechanistic._validation import FloatArray, IntArray
from models.trials._checks import number
from models.trials.cohort import VirtualCohort
from models.trials.errors import TrialInputError
from models.trials.kernels import arm_exposure
from models.trials.regimen import Regimen

OUTPUTS: tuple[str, ...] = ("auc24", "trough", "peak")
UNITS: dict[str, str] = {"auc24": "mg·h/L", "trough": "mg/L", "peak": "mg/L"}
DEFAULT_HORIZON_H = 72.0
MIN_HORIZON_H = 24.0
MAX_HORIZON_H = 24.0 * 28.0


def check_horizon(horizon_h: float) -> float:
    return number("horizon_h", horizon_h, MIN_HORIZON_H, MAX_HORIZON_H)


def output_index(name: str) -> int:
    """The column of an output, or a :class:`TrialInputError` naming the outputs."""
    if name not in OUTPUTS:
        raise TrialInputError("output", "one of " + ", ".join(OUTPUTS), name)
    return OUTPUTS.index(name)


@dataclass(frozen=True)
class ArmGrid:
    """The event grid of a 1 mg-per-dose regimen over the horizon, and the samples read."""

    bounds: FloatArray
    rate: FloatArray
    segment: IntArray
    sample_at: IntArray
    auc_samples: IntArray
    trough_sample: int
    peak_samples: IntArray

    @classmethod
    def of(cls, regimen: Regimen, horizon_h: float) -> ArmGrid:
        horizon = check_horizon(horizon_h)
        starts = regimen.dose_starts(horizon)
        infusions = tuple(Infusion(1.0, float(t), float(regimen.infusion_h)) for t in starts)
        ends = starts + regimen.infusion_h
        n_intervals = min(regimen.n_doses, math.floor(horizon / regimen.interval_h))
        trough_t = regimen.interval_h * n_intervals
        times = np.unique(
            np.concatenate([[horizon - 24.0, horizon, trough_t], ends[ends <= horizon]])
        )
        constant = (TimedValue(0.0, 1.0),)
        grid = event_grid(Course(infusions, (), constant, constant), infusions, times)
        peaks = np.searchsorted(times, np.append(ends[ends <= horizon], horizon))
        return cls(
            bounds=grid.bounds,
            rate=grid.rate,
            segment=grid.segment,
            sample_at=grid.sample_at,
            auc_samples=np.searchsorted(times, [horizon - 24.0, horizon]).astype(np.int64),
            trough_sample=int(np.searchsorted(times, trough_t)),
            peak_samples=peaks.astype(np.int64),
        )


def simulate_arm(
    cohort: VirtualCohort, regimen: Regimen, horizon_h: float = DEFAULT_HORIZON_H
) -> FloatArray:
    """``(n, 3)`` exposures, columns :data:`OUTPUTS`, one row per patient of ``cohort``
    (pass ``cohort.slice(start, stop)`` for a chunk). Runs on numba's threads."""
    grid = ArmGrid.of(regimen, horizon_h)
    cl, v1, q, v2 = cohort.kinetic_parameters()
    result: FloatArray = arm_exposure(
        np.ascontiguousarray(cl.reshape(-1, 1)),
        np.ascontiguousarray(v1.reshape(-1, 1)),
        q,
        np.ascontiguousarray(v2),
        np.ascontiguousarray(regimen.doses_mg(cohort.weight_kg)),
        grid.bounds,
        grid.rate,
        grid.segment,
        grid.sample_at,
        grid.auc_samples,
        grid.trough_sample,
        grid.peak_samples,
    )
    return result
