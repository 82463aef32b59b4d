"""Maximum a posteriori calibration of a person's glucose twin from CGM days, with Laplace.

The objective is minus twice the log posterior up to a constant, a sum of squares
``r(η)ᵀ r(η)``: the CGM residuals (sensor glucose at each reading's time) whitened under
the prior's autocorrelated CGM error (``glucose_prior.py``: an Ornstein-Uhlenbeck process,
modelled, not widened), the finger-stick residuals (plasma glucose at each reading's time,
independent, each over its ISO 15197 SD) and the prior terms ``η / ω``. Levenberg-Marquardt
from the prior mode (``η = 0``): each iteration runs the record and its three
forward-difference neighbours in one batch-kernel call (two numba threads), then tries the
damped Gauss-Newton step; deterministic, so a replay of the same data reproduces the state.
The Laplace covariance at the mode is the Gauss-Newton ``(JᵀJ)⁻¹`` (``2 H⁻¹`` with
``H ≈ 2 JᵀJ``); SDs and shrinkage ``1 - SD / ω`` per parameter. The result has the shapes
of :mod:`models.dosing.calibration` (a :class:`~models.dosing.calibration.Calibration` with
its :class:`~models.dosing.calibration.Posterior`; ``eta`` here are the three log-scale
deviations of Vmx, kp3 and kabs from the cohort's median). A fit that does not converge is
returned with ``status == "failed"`` and no posterior.
"""

from __future__ import annotations

import numpy as np

from models.calibration.glucose_days import (
    GlucoseDays,
    KernelDays,
    basal_insulin,
    check_days,
    kernel_days,
    simulate_readings,
)
from models.calibration.glucose_prior import (
    CGM_SD_MG_DL,
    CGM_TAU_MIN,
    LOG_MEDIAN,
    OMEGA,
    PARAMETER_NAMES,
    PRIOR_VERSION,
    fingerstick_sd,
    person_parameters,
)
from models.calibration.map_fit import (
    Stopping,
    gauss_newton_covariance,
    laplace_posterior,
    levenberg_marquardt,
    start_at,
)
from models.dosing.calibration import Calibration
from models.mechanistic._validation import FloatArray

#: A day of CGM leaves kabs a flat valley: cohort subject 17 needs 55 steps on one day.
MAX_ITERATIONS = 100
#: Forward-difference step on η (log scale).
FD_STEP = 1e-4
#: Converged when a step lowers the objective by less than this (relative) ...
OBJECTIVE_RTOL = 1e-7
#: ... or moves no η by more than this.
STEP_TOL = 1e-5
#: Largest step on the log scale per parameter (a factor of e).
MAX_STEP = 1.0
N = len(PARAMETER_NAMES)


class _Residuals:
    """``r(η)`` and its forward-difference Jacobian for one person's record."""

    def __init__(self, days: GlucoseDays) -> None:
        self.days = days
        self.record: KernelDays = kernel_days(days)
        self.y = days.cgm_mg_dl
        rho = np.exp(-np.diff(days.cgm_times) / CGM_TAU_MIN)
        self.rho = rho
        self.scale = CGM_SD_MG_DL * np.sqrt(1.0 - rho**2)
        self.fingersticks = days.fingerstick_mg_dl
        self.fingerstick_sd = fingerstick_sd(days.fingerstick_mg_dl)
        # Ib from the median physiology at the person's weight (Ib does not depend on η)
        base = person_parameters(np.zeros(N), days.weight_kg, 0.0)
        self.ib = basal_insulin(base, self.record.basal_u_per_h)

    def _whiten(self, cgm: FloatArray, plasma: FloatArray, eta: FloatArray) -> FloatArray:
        e = self.y - cgm
        m = e.size + plasma.size
        white = np.empty(m + N)
        white[0] = e[0] / CGM_SD_MG_DL
        white[1 : e.size] = (e[1:] - self.rho * e[:-1]) / self.scale
        white[e.size : m] = (self.fingersticks - plasma) / self.fingerstick_sd
        white[m:] = eta / OMEGA
        return white

    def rows(self, etas: FloatArray) -> FloatArray:
        return np.stack([person_parameters(eta, self.days.weight_kg, self.ib) for eta in etas])

    def value(self, eta: FloatArray) -> FloatArray:
        cgm, plasma = simulate_readings(self.rows(eta[None, :]), self.record)
        return self._whiten(cgm[0], plasma[0], eta)

    def with_jacobian(self, eta: FloatArray) -> tuple[FloatArray, FloatArray]:
        etas = np.vstack([eta, eta + FD_STEP * np.eye(N)])
        cgm, plasma = simulate_readings(self.rows(etas), self.record)
        r = self._whiten(cgm[0], plasma[0], eta)
        jac = np.column_stack(
            [(self._whiten(cgm[k + 1], plasma[k + 1], etas[k + 1]) - r) / FD_STEP
             for k in range(N)]
        )  # fmt: skip
        return r, jac


def map_estimate(
    days: GlucoseDays, start: FloatArray | None = None
) -> tuple[FloatArray, float, int, str, FloatArray]:
    """The mode's η, its objective, the iterations, "" (or why it failed), ``JᵀJ``; the
    search starts at the prior mode, or at ``start`` (a warm start)."""
    stopping = Stopping(
        max_iterations=MAX_ITERATIONS,
        step_tol=STEP_TOL,
        max_step=MAX_STEP,
        damping_floor=1e-9,
        objective_rtol=OBJECTIVE_RTOL,
    )
    fit = levenberg_marquardt(_Residuals(days), start_at(start, N), stopping)
    return fit.eta, fit.objective, fit.iterations, fit.problem, fit.jtj


def calibrate_glucose(days: GlucoseDays, start: FloatArray | None = None) -> Calibration:
    """MAP Vmx, kp3 and kabs of the person's CGM (and finger-stick) days under the cohort
    prior, with the Laplace posterior. A state starts at the prior mode (what a replay
    reproduces); ``start`` warm-starts the leave-one-out refits. Raises
    :class:`~models.calibration.errors.GlucoseDataError` for data that cannot be used;
    returns ``status == "failed"`` when the fit does not converge."""
    check_days(days)
    eta, value, iterations, problem, jtj = map_estimate(days, start)
    if not problem:
        try:
            covariance = gauss_newton_covariance(jtj)
        except np.linalg.LinAlgError:
            problem = "the Gauss-Newton matrix at the mode is not positive definite"
    if problem:
        return Calibration(
            "failed", problem, PRIOR_VERSION, days.observation_ids, value, iterations, None
        )
    estimates = np.exp(LOG_MEDIAN + eta)
    parameters = tuple(zip(PARAMETER_NAMES, map(float, estimates), strict=True))
    posterior = laplace_posterior(eta, covariance, OMEGA, parameters)
    message = f"converged in {iterations} Levenberg-Marquardt iterations"
    return Calibration(
        "converged", message, PRIOR_VERSION, days.observation_ids, value, iterations, posterior
    )
