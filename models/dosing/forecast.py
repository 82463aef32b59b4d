"""Forecasts of a calibrated course: concentrations and AUC24 with 90 % intervals.

Method (said in every result): ``n_draws`` (default 2,000) etas drawn with a seeded
``numpy`` generator from the Laplace posterior ``N(eta_MAP, 2 H^-1)``; each draw is
simulated exactly over the history plus the new regimen. Concentration intervals are
prediction intervals of a measured level: each draw gets its own residual error
(``sd^2 = 3.4^2 + (0.227 C)^2``). AUC is not measured, so its interval is the posterior's
only. Point values are the prediction at the mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.dosing.calibration import Calibration
from models.dosing.errors import DosingDataError
from models.dosing.history import Course, Infusion, check_infusions
from models.dosing.predict import Predictor
from models.dosing.prior import residual_variance
from models.mechanistic._validation import FloatArray

N_DRAWS = 2000
SEED = 20200315  # the 2020 ASHP/IDSA/PIDS/SIDP guideline's publication month, fixed
MAX_FORECAST_TIMES = 2000
LOW, HIGH = 5.0, 95.0


def infusion_hours(dose_mg: float) -> float:
    """Infusion time of a dose: at least 1 h per gram, at least 1 h, in half hours.

    Rate limit of the 2020 ASHP/IDSA/PIDS/SIDP vancomycin guideline (Rybak MJ et al. Am J
    Health Syst Pharm 2020;77(11):835-864): infuse over at least 1 h per gram.
    """
    return max(1.0, float(np.ceil(2.0 * dose_mg / 1000.0)) / 2.0)


def repeated_infusions(
    dose_mg: float, interval_h: float, n_doses: int, start_h: float, prefix: str = "regimen"
) -> tuple[Infusion, ...]:
    """``n_doses`` infusions of ``dose_mg`` every ``interval_h`` from ``start_h`` (1 h/g)."""
    hours = infusion_hours(dose_mg)
    return tuple(
        Infusion(dose_mg, start_h + i * interval_h, hours, f"{prefix}-{i}") for i in range(n_doses)
    )


@dataclass(frozen=True)
class Forecast:
    """Concentrations at ``times`` and the AUC over ``[auc_start_h, auc_start_h + 24]``."""

    times: tuple[float, ...]
    concentration: tuple[float, ...]
    concentration_low: tuple[float, ...]
    concentration_high: tuple[float, ...]
    auc_start_h: float
    auc24: float
    auc24_low: float
    auc24_high: float
    method: str


def posterior_draws(calibration: Calibration, n_draws: int, seed: int) -> FloatArray:
    """``(n_draws, 3)`` etas from the Laplace posterior, seeded."""
    posterior = calibration.usable()
    chol = np.linalg.cholesky(posterior.covariance_array())
    z = np.random.default_rng(seed).standard_normal((n_draws, 3))
    draws: FloatArray = posterior.eta_array() + z @ chol.T
    return draws


def forecast(
    course: Course,
    calibration: Calibration,
    regimen: tuple[Infusion, ...],
    times: npt.ArrayLike,
    auc_start_h: float,
    *,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
) -> Forecast:
    """Forecast the history plus ``regimen`` at ``times`` with 90 % intervals."""
    posterior = calibration.usable()
    check_infusions(regimen)
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    if not 0 < t.size <= MAX_FORECAST_TIMES or not np.all(np.isfinite(t)):
        raise DosingDataError("times", "invalid", f"1 to {MAX_FORECAST_TIMES} finite times")
    if not np.isfinite(auc_start_h):
        raise DosingDataError("auc_start_h", "invalid", "a finite time")
    samples = np.concatenate([t, [auc_start_h, auc_start_h + 24.0]])
    predictor = Predictor(course, samples, course.infusions + regimen)
    etas = np.vstack([posterior.eta_array(), posterior_draws(calibration, n_draws, seed)])
    conc, auc = predictor.predict(etas)
    window = auc[:, -1] - auc[:, -2]
    f = conc[1:, :-2]
    noise = np.random.default_rng(seed + 1).standard_normal(f.shape)
    measured = f + np.sqrt(residual_variance(f)) * noise
    c_low, c_high = np.percentile(measured, [LOW, HIGH], axis=0)
    a_low, a_high = np.percentile(window[1:], [LOW, HIGH])
    return Forecast(
        times=tuple(map(float, t)),
        concentration=tuple(map(float, conc[0, :-2])),
        concentration_low=tuple(map(float, c_low)),
        concentration_high=tuple(map(float, c_high)),
        auc_start_h=float(auc_start_h),
        auc24=float(window[0]),
        auc24_low=float(a_low),
        auc24_high=float(a_high),
        method=(
            f"{n_draws} draws (seed {seed}) from the Laplace posterior; concentration intervals "
            "add the residual error per draw (prediction intervals of a measured level); the "
            "AUC interval is the posterior's only"
        ),
    )
