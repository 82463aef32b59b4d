"""Forecasts of a calibrated Windkessel: pressures with 90 % prediction intervals, their
exact Shapley explanation, and the readings that moved the estimate most.

Forecast: at each time, the steady beat at the heart rate in force then. ``n_draws``
(default 2,000) η drawn with a seeded generator from the Laplace posterior; each draw's
systolic and diastolic get a cuff's error (``N(0, 8²)`` mmHg each, independent), its mean
pressure the error a cuff's ``DBP + PP/3`` inherits from them, ``(e_s + 2·e_d) / 3``: the
intervals are prediction intervals of a reading. Point values are the mode's.

Explanation: players are the heart rate in force and each η (``eta_R_p``, ``eta_C``); a
player outside a coalition takes the reference patient's value (72 bpm, η = 0). All
2³ = 8 coalitions are simulated, so ``base + sum(values) == value`` to rounding.

Influence: the change of the MAP ``R_p`` and ``C`` when each reading is left out and the
rest refitted (warm-started at the full fit's mode; with no reading left, the prior's
mode). Above :data:`EXACT_INFLUENCE_READINGS` readings, one Gauss-Newton step from the
full fit's mode stands for each refit (said in its note).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.calibration.windkessel import (
    BloodPressures,
    Residuals,
    calibrate_windkessel,
)
from models.calibration.windkessel_prior import (
    CUFF_SD_MMHG,
    REFERENCE_HEART_RATE_BPM,
    TYPICAL,
    pressures,
)
from models.dosing.calibration import Calibration
from models.dosing.explain import Explanation, shapley_values
from models.mechanistic._validation import FloatArray

N_DRAWS = 2000
SEED = 19990101  # fixed: a forecast of the same state and request is reproducible
LOW, HIGH = 5.0, 95.0
OUTPUTS: tuple[str, ...] = ("systolic", "diastolic", "map")
PLAYERS: tuple[str, ...] = ("heart_rate", "eta_R_p", "eta_C")
EXACT_INFLUENCE_READINGS = 50


@dataclass(frozen=True)
class PressureForecast:
    """Pressures (mmHg) at ``times_h`` (hours from the forecast's start), with 90 % PIs."""

    times_h: tuple[float, ...]
    heart_rate: tuple[float, ...]
    systolic: tuple[float, ...]
    systolic_low: tuple[float, ...]
    systolic_high: tuple[float, ...]
    diastolic: tuple[float, ...]
    diastolic_low: tuple[float, ...]
    diastolic_high: tuple[float, ...]
    map: tuple[float, ...]
    map_low: tuple[float, ...]
    map_high: tuple[float, ...]
    method: str


@dataclass(frozen=True)
class ReadingInfluence:
    """A reading's leave-one-out effect on the MAP ``R_p`` (mmHg·s/mL) and ``C`` (mL/mmHg)."""

    reading_id: str
    time_h: float
    r_p_change: float | None
    c_change: float | None
    note: str


def posterior_draws(calibration: Calibration, n_draws: int, seed: int) -> FloatArray:
    """``(n_draws, 2)`` η from the Laplace posterior, seeded."""
    posterior = calibration.usable()
    chol = np.linalg.cholesky(posterior.covariance_array())
    z = np.random.default_rng(seed).standard_normal((n_draws, chol.shape[0]))
    draws: FloatArray = posterior.eta_array() + z @ chol.T
    return draws


def _tuple(values: FloatArray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def forecast_pressures(
    calibration: Calibration,
    times_h: FloatArray,
    heart_rate: FloatArray,
    stroke_volume: float,
    *,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
) -> PressureForecast:
    """Pressures at ``times_h`` with the heart rate in force at each (``heart_rate``)."""
    mode = calibration.usable().eta_array()
    rates, where = np.unique(heart_rate, return_inverse=True)
    etas = np.vstack([mode, posterior_draws(calibration, n_draws, seed)])
    beats = pressures(etas, rates, np.full(rates.size, stroke_volume))  # (1 + n, u, 3)
    noise = CUFF_SD_MMHG * np.random.default_rng(seed + 1).standard_normal((n_draws, rates.size, 2))
    measured = beats[1:].copy()
    measured[:, :, :2] += noise
    measured[:, :, 2] += (noise[:, :, 0] + 2.0 * noise[:, :, 1]) / 3.0
    low, high = np.percentile(measured, [LOW, HIGH], axis=0)  # (u, 3) each
    point = beats[0]
    columns: dict[str, Any] = {"times_h": _tuple(times_h), "heart_rate": _tuple(heart_rate)}
    for k, name in enumerate(OUTPUTS):
        columns[name] = _tuple(point[where, k])
        columns[f"{name}_low"] = _tuple(low[where, k])
        columns[f"{name}_high"] = _tuple(high[where, k])
    return PressureForecast(
        **columns,
        method=(
            f"{n_draws} draws (seed {seed}) from the Laplace posterior, each with a cuff's "
            f"error (SD {CUFF_SD_MMHG:g} mmHg on systolic and diastolic, (e_s + 2 e_d)/3 on "
            "the mean): 90% prediction intervals of a reading; points at the mode; the "
            "steady beat at the heart rate in force at each time"
        ),
    )


def explain_pressures(
    calibration: Calibration, heart_rate: float, stroke_volume: float
) -> tuple[Explanation, ...]:
    """Exact Shapley values of systolic, diastolic and mean pressure at ``heart_rate``."""
    eta = calibration.usable().eta_array()
    masks = np.arange(8)
    etas = np.array([[eta[k] if m & (2 << k) else 0.0 for k in range(2)] for m in masks])
    rates = np.array([REFERENCE_HEART_RATE_BPM, heart_rate])
    beats = pressures(etas, rates, np.full(2, stroke_volume))  # (8, 2, 3)
    values = beats[masks, masks & 1]  # each coalition at its heart rate: (8, 3)
    explained = []
    for k, name in enumerate(OUTPUTS):
        phi = shapley_values(values[:, k], len(PLAYERS))
        contributions = tuple(zip(PLAYERS, map(float, phi), strict=True))
        explained.append(Explanation(name, float(values[0, k]), float(values[7, k]), contributions))
    return tuple(explained)


def _one_step(r: FloatArray, jac: FloatArray, eta: FloatArray, index: int) -> FloatArray:
    """η after one Gauss-Newton step from ``eta`` (residuals ``r``, Jacobian ``jac``
    there) without reading ``index``."""
    keep = np.ones(r.size, dtype=bool)
    keep[2 * index : 2 * index + 2] = False
    j, rr = jac[keep], r[keep]
    step = np.asarray(-np.linalg.solve(j.T @ j, j.T @ rr), dtype=np.float64)
    moved: FloatArray = eta + step
    return moved


def reading_influence(
    data: BloodPressures, calibration: Calibration
) -> tuple[ReadingInfluence, ...]:
    """Readings by decreasing largest relative change ``|Δθ| / θ_typical`` of ``R_p`` or
    ``C`` when each one is left out."""
    eta = calibration.usable().eta_array()
    exact = len(data.readings) <= EXACT_INFLUENCE_READINGS
    r, jac = (None, None) if exact else Residuals(data).with_jacobian(eta)
    result = []
    for index, reading in enumerate(data.readings):
        if len(data.readings) == 1:
            without, note = np.zeros(2), "no other reading: the prior's mode"
        elif exact:
            refit = calibrate_windkessel(data.without(index), start=eta)
            if refit.posterior is None:
                result.append(
                    ReadingInfluence(reading.id, reading.time_h, None, None, refit.message)
                )
                continue
            without, note = refit.posterior.eta_array(), "refitted without it"
        else:
            assert r is not None and jac is not None
            without, note = _one_step(r, jac, eta, index), "one Gauss-Newton step without it"
        change = TYPICAL * np.exp(eta) - TYPICAL * np.exp(without)
        result.append(
            ReadingInfluence(reading.id, reading.time_h, float(change[0]), float(change[1]), note)
        )
    return tuple(sorted(result, key=lambda r: (r.r_p_change is None, -_size(r), r.time_h)))


def _size(influence: ReadingInfluence) -> float:
    if influence.r_p_change is None or influence.c_change is None:
        return 0.0
    return float(np.max(np.abs(np.array([influence.r_p_change, influence.c_change]) / TYPICAL)))
