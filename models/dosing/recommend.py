"""Vancomycin regimens on a grid, ranked by the probability of reaching the AUC24 target.

The 2020 ASHP/IDSA/PIDS/SIDP guideline (Rybak MJ et al. Am J Health Syst Pharm
2020;77(11):835-864) recommends AUC24/MIC 400-600 (MIC 1 mg/L) by Bayesian estimation,
infusion at no more than 1 g/h, and an optional loading dose of 20-35 mg/kg actual body
weight, at most 3,000 mg.

Steady-state AUC24 = daily dose / CL; with the Laplace posterior ``eta_CL ~ N(m, s^2)`` it
is log-normal, so the probability of target attainment is exact:
``Phi((ln hi - mu)/s) - Phi((ln lo - mu)/s)``, ``mu = ln(daily / CL_MAP)``. Troughs (steady
state, end of the interval, closed form) depend on CL, V1 and V2: their 90 % interval comes
from 2,000 seeded posterior draws. Ranking: probability (to 1e-9) descending, ties to the
lower daily dose, then the longer interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from models.dosing.calibration import Calibration, current_typical
from models.dosing.errors import DosingDataError
from models.dosing.forecast import N_DRAWS, SEED, infusion_hours, posterior_draws
from models.dosing.history import Course
from models.mechanistic._validation import FloatArray

Z90 = 1.6448536269514722
MAX_LOADING_MG = 3000.0
MAX_REGIMENS = 2000


@dataclass(frozen=True)
class DosingGrid:
    """The regimens to consider and the target (AUC24 in mg·h/L, MIC 1 mg/L)."""

    intervals_h: tuple[float, ...] = (8.0, 12.0, 24.0)
    dose_step_mg: float = 250.0
    max_daily_mg: float = 4000.0
    target_auc24: tuple[float, float] = (400.0, 600.0)
    loading_mg_per_kg: float | None = None

    def check(self) -> None:
        def bad(field: str, allowed: str) -> DosingDataError:
            return DosingDataError(field, "invalid", allowed)

        finite = all(map(math.isfinite, (*self.intervals_h, self.dose_step_mg, self.max_daily_mg)))
        if not finite or not self.intervals_h or any(not 4 <= t <= 72 for t in self.intervals_h):
            raise bad("intervals_h", "one or more intervals in [4, 72] h")
        if not 50.0 <= self.dose_step_mg <= 2000.0:
            raise bad("dose_step_mg", "in [50, 2000] mg")
        if not self.dose_step_mg <= self.max_daily_mg <= 10000.0:
            raise bad("max_daily_mg", "in [dose_step_mg, 10000] mg")
        lo, hi = self.target_auc24
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 < lo < hi):
            raise bad("target_auc24", "0 < low < high, finite")
        load = self.loading_mg_per_kg
        if load is not None and not (math.isfinite(load) and 20.0 <= load <= 35.0):
            raise bad("loading_mg_per_kg", "in [20, 35] mg/kg (2020 guideline) or none")


@dataclass(frozen=True)
class RankedRegimen:
    """One regimen with its steady-state exposure, 90 % intervals and attainment."""

    dose_mg: float
    interval_h: float
    infusion_h: float
    daily_mg: float
    auc24: float
    auc24_low: float
    auc24_high: float
    trough: float
    trough_low: float
    trough_high: float
    probability: float


@dataclass(frozen=True)
class Recommendation:
    regimens: tuple[RankedRegimen, ...]
    loading_dose_mg: float | None
    loading_infusion_h: float | None
    method: str


def steady_state_trough(
    dose: float, tau: float, t_inf: float, cl: FloatArray, v1: FloatArray, q: float, v2: FloatArray
) -> FloatArray:
    """Trough (mg/L) at steady state of ``dose`` over ``t_inf`` every ``tau`` (closed form)."""
    k10, k12, k21 = cl / v1, q / v1, q / v2
    disc = np.sqrt((k10 + k12 - k21) ** 2 + 4.0 * k12 * k21)
    alpha = 0.5 * (k10 + k12 + k21 + disc)
    beta = k10 * k21 / alpha
    total = np.zeros_like(cl)
    for lam, coef in ((alpha, (alpha - k21) / disc), (beta, (k21 - beta) / disc)):
        accumulated = -np.expm1(-lam * t_inf) * np.exp(-lam * (tau - t_inf)) / -np.expm1(-lam * tau)
        total += coef / lam * accumulated
    result: FloatArray = dose / t_inf / v1 * total
    return result


def recommend(
    course: Course,
    calibration: Calibration,
    grid: DosingGrid,
    *,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
) -> Recommendation:
    """Every regimen of ``grid`` ranked by its probability of target attainment."""
    posterior = calibration.usable()
    grid.check()
    typical = current_typical(course)
    eta = posterior.eta_array()
    cl_map = float(typical[0] * math.exp(eta[0]))
    s = posterior.sd[0]
    draws = np.exp(posterior_draws(calibration, n_draws, seed))
    cl, v1, v2 = typical[0] * draws[:, 0], typical[1] * draws[:, 1], typical[3] * draws[:, 2]
    mode_cl, mode_v1, mode_v2 = (
        np.array([cl_map]),
        typical[1:2] * math.exp(eta[1]),
        typical[3:4] * math.exp(eta[2]),
    )
    lo, hi = grid.target_auc24
    rows: list[RankedRegimen] = []
    for tau in sorted(set(grid.intervals_h)):
        n_steps = math.floor(grid.max_daily_mg * tau / 24.0 / grid.dose_step_mg + 1e-9)
        for step in range(1, n_steps + 1):
            dose = step * grid.dose_step_mg
            t_inf = infusion_hours(dose)
            if t_inf >= tau:
                continue
            daily = dose * 24.0 / tau
            mu = math.log(daily / cl_map)
            unit = steady_state_trough(1.0, tau, t_inf, cl, v1, typical[2], v2)
            tr_low, tr_high = np.percentile(dose * unit, [5.0, 95.0])
            mode_trough = steady_state_trough(
                dose, tau, t_inf, mode_cl, mode_v1, typical[2], mode_v2
            )
            rows.append(
                RankedRegimen(
                    dose_mg=dose,
                    interval_h=tau,
                    infusion_h=t_inf,
                    daily_mg=daily,
                    auc24=math.exp(mu),
                    auc24_low=math.exp(mu - Z90 * s),
                    auc24_high=math.exp(mu + Z90 * s),
                    trough=float(mode_trough[0]),
                    trough_low=float(tr_low),
                    trough_high=float(tr_high),
                    probability=float(
                        ndtr((math.log(hi) - mu) / s) - ndtr((math.log(lo) - mu) / s)
                    ),
                )
            )
            if len(rows) > MAX_REGIMENS:
                raise DosingDataError("grid", "invalid", f"at most {MAX_REGIMENS} regimens")
    rows.sort(key=lambda r: (-round(r.probability, 9), r.daily_mg, -r.interval_h))
    loading, loading_h = None, None
    if grid.loading_mg_per_kg is not None:
        weight = max(course.weight, key=lambda v: v.time_h).value
        raw = grid.loading_mg_per_kg * weight
        loading = min(MAX_LOADING_MG, round(raw / grid.dose_step_mg) * grid.dose_step_mg)
        loading_h = infusion_hours(loading)
    return Recommendation(
        regimens=tuple(rows),
        loading_dose_mg=loading,
        loading_infusion_h=loading_h,
        method=(
            "AUC24 = daily dose / CL (MIC 1); probability of 400-600 analytic under the "
            f"log-normal Laplace posterior of CL; trough intervals from {n_draws} posterior "
            f"draws (seed {seed})"
        ),
    )
