"""Forecasts of a calibrated radiotherapy course: tumour volume with 90 % intervals.

Method (said in every result): ``n_draws`` (default 2,000) η drawn with a seeded ``numpy``
generator from the Laplace posterior ``N(η_MAP, 2 H⁻¹)``; each draw is simulated over the
delivered fractions plus the planned ones. Volume intervals are prediction intervals of a
measured volume: each draw gets its own residual error (log-normal, SD
:data:`~models.calibration.radiotherapy_prior.SIGMA_LOG`). The relative reduction from the
forecast's start to its end is not measured, so its interval is the posterior's only.
Point values are the prediction at the mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.calibration.errors import RadiotherapyDataError
from models.calibration.radiotherapy_course import (
    Fraction,
    RadiotherapyCourse,
    check_fractions,
    simulate,
)
from models.calibration.radiotherapy_prior import SIGMA_LOG
from models.dosing.calibration import Calibration
from models.mechanistic._validation import FloatArray
from models.mechanistic.radiotherapy import MAX_HORIZON_DAYS

N_DRAWS = 2000
SEED = 19890101  # fixed: a forecast of the same state and plan is the same forecast
MAX_FORECAST_TIMES = 2000
LOW, HIGH = 5.0, 95.0


@dataclass(frozen=True)
class TumourForecast:
    """Volumes (cm³) at ``times`` (days since the course's origin), the volume at the
    last time (the horizon) and the relative reduction from the first time to the last."""

    times: tuple[float, ...]
    volume: tuple[float, ...]
    volume_low: tuple[float, ...]
    volume_high: tuple[float, ...]
    volume_at_horizon: float
    volume_at_horizon_low: float
    volume_at_horizon_high: float
    relative_reduction: float
    relative_reduction_low: float
    relative_reduction_high: float
    method: str


def with_plan(course: RadiotherapyCourse, plan: tuple[Fraction, ...]) -> tuple[Fraction, ...]:
    """Delivered and planned fractions in time order; a planned fraction at the instant of
    another (delivered or planned) is contradictory (``scenario``)."""
    merged = tuple(sorted(course.fractions + plan, key=lambda f: (f.time_d, f.id)))
    check_fractions(merged, "scenario")
    return merged


def posterior_draws(calibration: Calibration, n_draws: int, seed: int) -> FloatArray:
    """``(n_draws, 3)`` η from the Laplace posterior, seeded."""
    posterior = calibration.usable()
    chol = np.linalg.cholesky(posterior.covariance_array())
    z = np.random.default_rng(seed).standard_normal((n_draws, chol.shape[0]))
    draws: FloatArray = posterior.eta_array() + z @ chol.T
    return draws


def _check_times(t: FloatArray) -> None:
    if not 1 < t.size <= MAX_FORECAST_TIMES or not np.all(np.isfinite(t)):
        raise RadiotherapyDataError("times", "invalid", f"2 to {MAX_FORECAST_TIMES} finite times")
    if t[0] < 0.0 or t[-1] > MAX_HORIZON_DAYS or np.any(np.diff(t) < 0.0):
        raise RadiotherapyDataError(
            "start", "invalid", f"sorted times from the course's origin to {MAX_HORIZON_DAYS:g} d"
        )


def forecast_tumour(
    course: RadiotherapyCourse,
    calibration: Calibration,
    plan: tuple[Fraction, ...],
    times: npt.ArrayLike,
    *,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
) -> TumourForecast:
    """Forecast the delivered plus planned fractions at ``times`` with 90 % intervals."""
    posterior = calibration.usable()
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    _check_times(t)
    fractions = with_plan(course, plan)
    etas = np.vstack([posterior.eta_array(), posterior_draws(calibration, n_draws, seed)])
    volumes = simulate(etas, fractions, t)
    draws = volumes[1:]
    noise = np.random.default_rng(seed + 1).standard_normal(draws.shape)
    measured = draws * np.exp(SIGMA_LOG * noise)
    v_low, v_high = np.percentile(measured, [LOW, HIGH], axis=0)
    reduction = 1.0 - volumes[:, -1] / volumes[:, 0]
    r_low, r_high = np.percentile(reduction[1:], [LOW, HIGH])
    return TumourForecast(
        times=tuple(map(float, t)),
        volume=tuple(map(float, volumes[0])),
        volume_low=tuple(map(float, v_low)),
        volume_high=tuple(map(float, v_high)),
        volume_at_horizon=float(volumes[0, -1]),
        volume_at_horizon_low=float(v_low[-1]),
        volume_at_horizon_high=float(v_high[-1]),
        relative_reduction=float(reduction[0]),
        relative_reduction_low=float(r_low),
        relative_reduction_high=float(r_high),
        method=(
            f"{n_draws} draws (seed {seed}) from the Laplace posterior; volume intervals add "
            "the residual error per draw (prediction intervals of a measured volume); the "
            "relative reduction's interval is the posterior's only"
        ),
    )
