"""Forecasts of a calibrated glucose twin: plasma and CGM glucose with 90 % prediction
intervals, time in range and mean glucose, and their exact Shapley explanation.

Method (said in every result): the record's events up to the forecast's start plus the
planned ones after it (one :class:`~models.mechanistic.glucose.GlucoseSchedule`) are run
from the record's start for the mode and ``n_draws`` (default 250) η drawn, seeded, from
the Laplace posterior, in one batch-kernel call, sampled every 5 min from the start over
the horizon. Plasma glucose intervals are prediction intervals of a finger-stick reading
(each draw plus its own ISO 15197 error); CGM intervals those of a CGM reading (each draw
plus its own Ornstein-Uhlenbeck CGM error path, the calibration's error model: modelled,
not widened). Time in range (70-180 mg/dL, % of the 5-min plasma samples) and mean plasma
glucose are of the body's glucose, not of a reading: their intervals are the posterior's
only. Point values are the mode's.

Explanation: exact Shapley values over the three η (Vmx, kp3, kabs) against the cohort's
median person (η = 0) at the patient's weight and basal rate under the same events: all
2³ = 8 coalitions are run (no sampling), so ``base + sum(contributions) == value``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.calibration.errors import GlucoseDataError
from models.calibration.glucose_days import GlucoseDays, basal_insulin, run_record
from models.calibration.glucose_prior import (
    CGM_SD_MG_DL,
    CGM_TAU_MIN,
    PARAMETER_NAMES,
    fingerstick_sd,
    person_parameters,
)
from models.dosing.calibration import Calibration
from models.dosing.explain import Explanation, shapley_values
from models.dosing.forecast import posterior_draws
from models.mechanistic._validation import FloatArray
from models.mechanistic.glucose import MAX_HORIZON_MIN, GlucoseSchedule
from models.mechanistic.glucose_kernels import GP, GS, HIGH_MG_DL, LOW_MG_DL, VG

N_DRAWS = 250
SEED = 20090101  # Kovatchev et al.'s in silico T1D trial (J Diabetes Sci Technol 2009), fixed
STEP_MIN = 5.0
LOW, HIGH = 5.0, 95.0
PLAYERS: tuple[str, ...] = tuple(f"eta_{name}" for name in PARAMETER_NAMES)


@dataclass(frozen=True)
class GlucoseForecast:
    """Glucose every 5 min from ``start_min`` (minutes from the record's start)."""

    times_min: tuple[float, ...]
    plasma: tuple[float, ...]
    plasma_low: tuple[float, ...]
    plasma_high: tuple[float, ...]
    cgm: tuple[float, ...]
    cgm_low: tuple[float, ...]
    cgm_high: tuple[float, ...]
    time_in_range: float
    time_in_range_low: float
    time_in_range_high: float
    mean_glucose: float
    mean_glucose_low: float
    mean_glucose_high: float
    method: str


def _rows(days: GlucoseDays, etas: FloatArray) -> FloatArray:
    base = person_parameters(np.zeros(len(PARAMETER_NAMES)), days.weight_kg, 0.0)
    ib = basal_insulin(base, days.basal_u_per_h())
    return np.stack([person_parameters(eta, days.weight_kg, ib) for eta in etas])


def _samples(start_min: float, horizon_min: float) -> FloatArray:
    if not (np.isfinite(start_min) and start_min >= 0.0):
        raise GlucoseDataError("start", "invalid", "at or after the record's start")
    if not (np.isfinite(horizon_min) and horizon_min >= STEP_MIN):
        raise GlucoseDataError("horizon_h", "invalid", f"at least {STEP_MIN:g} min")
    if start_min + horizon_min > MAX_HORIZON_MIN:
        raise GlucoseDataError(
            "horizon_h", "invalid",
            f"the record's start to the horizon's end within {MAX_HORIZON_MIN / 1440:g} days",
        )  # fmt: skip
    samples: FloatArray = start_min + np.arange(0.0, horizon_min + 1e-9, STEP_MIN)
    return samples


def run_glucose(
    days: GlucoseDays, schedule: GlucoseSchedule, etas: FloatArray, samples: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Plasma and sensor glucose (mg/dL) at ``samples`` for each η row."""
    rows = _rows(days, etas)
    times, kinds, values = schedule.kernel_arrays()
    states = run_record(rows, days.basal_u_per_h(), times, kinds, values, samples)
    vg = rows[:, VG][:, None]
    plasma: FloatArray = states[:, :, GP] / vg
    sensor: FloatArray = states[:, :, GS] / vg
    return plasma, sensor


def time_in_range(plasma: FloatArray) -> FloatArray:
    """% of the samples at 70-180 mg/dL, per row."""
    inside = (plasma >= LOW_MG_DL) & (plasma <= HIGH_MG_DL)
    percent: FloatArray = 100.0 * np.mean(inside, axis=-1)
    return percent


def _cgm_error(n: int, m: int, rng: np.random.Generator) -> FloatArray:
    """``(n, m)`` Ornstein-Uhlenbeck CGM error paths every :data:`STEP_MIN`."""
    rho = float(np.exp(-STEP_MIN / CGM_TAU_MIN))
    z = rng.standard_normal((n, m))
    e = np.empty((n, m))
    e[:, 0] = CGM_SD_MG_DL * z[:, 0]
    for j in range(1, m):
        e[:, j] = rho * e[:, j - 1] + CGM_SD_MG_DL * np.sqrt(1.0 - rho**2) * z[:, j]
    return e


def forecast_glucose(
    days: GlucoseDays,
    calibration: Calibration,
    schedule: GlucoseSchedule,
    start_min: float,
    horizon_min: float,
    *,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
) -> GlucoseForecast:
    """Forecast the record plus its plan (``schedule``) from ``start_min`` over the horizon."""
    posterior = calibration.usable()
    samples = _samples(start_min, horizon_min)
    etas = np.vstack([posterior.eta_array(), posterior_draws(calibration, n_draws, seed)])
    plasma, sensor = run_glucose(days, schedule, etas, samples)
    rng = np.random.default_rng(seed + 1)
    drawn = plasma[1:]
    stick = drawn + fingerstick_sd(drawn) * rng.standard_normal(drawn.shape)
    reading = sensor[1:] + _cgm_error(n_draws, samples.size, rng)
    p_low, p_high = np.percentile(stick, [LOW, HIGH], axis=0)
    c_low, c_high = np.percentile(reading, [LOW, HIGH], axis=0)
    tir, mean = time_in_range(plasma), np.mean(plasma, axis=1)
    t_low, t_high = np.percentile(tir[1:], [LOW, HIGH])
    m_low, m_high = np.percentile(mean[1:], [LOW, HIGH])
    return GlucoseForecast(
        tuple(map(float, samples)),
        tuple(map(float, plasma[0])), tuple(map(float, p_low)), tuple(map(float, p_high)),
        tuple(map(float, sensor[0])), tuple(map(float, c_low)), tuple(map(float, c_high)),
        float(tir[0]), float(t_low), float(t_high),
        float(mean[0]), float(m_low), float(m_high),
        method=(
            f"{n_draws} draws (seed {seed}) from the Laplace posterior through the kernel; "
            "plasma intervals add a finger-stick error per draw (ISO 15197:2013, independent), "
            "CGM intervals an Ornstein-Uhlenbeck CGM error path per draw (SD "
            f"{CGM_SD_MG_DL:g} mg/dL, {CGM_TAU_MIN:g} min: modelled, not widened); time in "
            "range (70-180 mg/dL, % of 5-min plasma samples) and mean plasma glucose: the "
            "posterior's interval only"
        ),
    )  # fmt: skip


def explain_glucose(
    days: GlucoseDays,
    calibration: Calibration,
    schedule: GlucoseSchedule,
    start_min: float,
    horizon_min: float,
) -> tuple[Explanation, Explanation]:
    """Exact Shapley values of the horizon's mean plasma glucose and time in range."""
    eta = calibration.usable().eta_array()
    n = len(PLAYERS)
    masks = np.arange(1 << n)
    etas = np.array([[eta[k] if m & (1 << k) else 0.0 for k in range(n)] for m in masks])
    plasma, _ = run_glucose(days, schedule, etas, _samples(start_min, horizon_min))
    explained = []
    for name, values in (("mean_glucose", np.mean(plasma, axis=1)),
                         ("time_in_range", time_in_range(plasma))):  # fmt: skip
        phi = shapley_values(values, n)
        contributions = tuple(zip(PLAYERS, map(float, phi), strict=True))
        explained.append(Explanation(name, float(values[0]), float(values[-1]), contributions))
    return explained[0], explained[1]
