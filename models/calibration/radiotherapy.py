"""Maximum a posteriori calibration of a radiotherapy course, with its Laplace posterior.

The objective is minus twice the log posterior up to a constant, a sum of squares
``r(η)ᵀ r(η)``: the log volumes' residuals ``(ln y - ln f(η)) / SIGMA_LOG`` and the prior
terms ``η / OMEGA`` (``radiotherapy_prior.py``). Levenberg-Marquardt from the prior mode
(``η = 0``, or a given warm start): each iteration runs the course and its six
central-difference neighbours in one batch-kernel call, then tries the damped Gauss-Newton
step; deterministic, so a replay of the same data reproduces the state. Converged when the
gradient ``2 Jᵀr`` vanishes (below :data:`GRADIENT_TOL`) or the step does (below
:data:`STEP_TOL`).

The Laplace covariance at the mode is ``2 H⁻¹`` with ``H`` the full Hessian of the
objective, by central second differences (one batch call of 19 runs), not the Gauss-Newton
``2 JᵀJ``: the residuals of a few noisy volumes are not small. SDs and shrinkage
``1 - SD / OMEGA`` per η. A fit that does not converge, or whose Hessian at the mode is not
positive definite, is returned with ``status == "failed"`` and no posterior.
"""

from __future__ import annotations

import itertools

import numpy as np

from models.calibration.map_fit import Stopping, laplace_posterior, levenberg_marquardt, start_at
from models.calibration.radiotherapy_course import (
    RadiotherapyCourse,
    check_course,
    simulate,
)
from models.calibration.radiotherapy_prior import (
    ETA_NAMES,
    OMEGA,
    PRIOR_VERSION,
    SIGMA_LOG,
    named_parameters,
)
from models.dosing.calibration import Calibration
from models.mechanistic._validation import FloatArray

N = len(ETA_NAMES)
MAX_ITERATIONS = 100
#: Central-difference step on η for the Jacobian, and for the Hessian at the mode.
JACOBIAN_STEP = 1e-4
HESSIAN_STEP = 1e-3
#: Converged when ``max |2 Jᵀr|`` is below this, or no η moves by more than STEP_TOL.
GRADIENT_TOL = 1e-7
STEP_TOL = 1e-10
#: Largest step on the log scale per η (a factor of e).
MAX_STEP = 1.0


class Residuals:
    """``r(η)``, its Jacobian and the objective's Hessian for one course's volumes."""

    def __init__(self, course: RadiotherapyCourse) -> None:
        self.course = course
        self.times = np.array([v.time_d for v in course.volumes])
        self.log_y = np.log([v.volume_cm3 for v in course.volumes])

    def _whiten(self, volumes: FloatArray, etas: FloatArray) -> FloatArray:
        """Rows of residuals: the data's, then the prior's."""
        data = (self.log_y - np.log(volumes)) / SIGMA_LOG
        return np.hstack([data, np.atleast_2d(etas) / OMEGA])

    def run(self, etas: FloatArray) -> FloatArray:
        return self._whiten(simulate(etas, self.course.fractions, self.times), etas)

    def value(self, eta: FloatArray) -> FloatArray:
        r: FloatArray = self.run(eta[None, :])[0]
        return r

    def objective(self, eta: FloatArray) -> float:
        r = self.value(eta)
        return float(r @ r)

    def with_jacobian(self, eta: FloatArray) -> tuple[FloatArray, FloatArray]:
        shifts = JACOBIAN_STEP * np.eye(N)
        rows = self.run(np.vstack([eta, eta + shifts, eta - shifts]))
        jac = (rows[1 : 1 + N] - rows[1 + N :]).T / (2.0 * JACOBIAN_STEP)
        return rows[0], jac

    def hessian(self, eta: FloatArray) -> FloatArray:
        """The objective's Hessian by central second differences (step HESSIAN_STEP)."""
        h = HESSIAN_STEP
        e = h * np.eye(N)
        pairs = list(itertools.combinations(range(N), 2))
        etas = [eta, *(eta + e[k] for k in range(N)), *(eta - e[k] for k in range(N))]
        for k, m in pairs:
            etas += [eta + e[k] + e[m], eta + e[k] - e[m], eta - e[k] + e[m], eta - e[k] - e[m]]
        rows = self.run(np.array(etas))
        f = np.einsum("ij,ij->i", rows, rows)
        hess = np.empty((N, N))
        for k in range(N):
            hess[k, k] = (f[1 + k] - 2.0 * f[0] + f[1 + N + k]) / h**2
        for p, (k, m) in enumerate(pairs):
            q = f[1 + 2 * N + 4 * p : 5 + 2 * N + 4 * p]
            hess[k, m] = hess[m, k] = (q[0] - q[1] - q[2] + q[3]) / (4.0 * h**2)
        return hess


def map_estimate(
    course: RadiotherapyCourse, start: FloatArray | None = None
) -> tuple[FloatArray, float, int, str]:
    """The mode's η, its objective, the iterations, and "" (or why it failed)."""
    stopping = Stopping(
        max_iterations=MAX_ITERATIONS,
        step_tol=STEP_TOL,
        max_step=MAX_STEP,
        damping_floor=1e-12,
        step_tries=40,
        gradient_tol=GRADIENT_TOL,
        gradient_scale=2.0,
        refresh_at_mode=False,
    )
    fit = levenberg_marquardt(Residuals(course), start_at(start, N), stopping)
    return fit.eta, fit.objective, fit.iterations, fit.problem


def _failed(course: RadiotherapyCourse, message: str, value: float, n: int) -> Calibration:
    return Calibration("failed", message, PRIOR_VERSION, course.observation_ids(), value, n, None)


def calibrate_radiotherapy(
    course: RadiotherapyCourse, start: FloatArray | None = None
) -> Calibration:
    """MAP initial volume, growth rate and alpha of the course's volumes under the prior,
    with the Laplace posterior. Raises
    :class:`~models.calibration.errors.RadiotherapyDataError` for data that cannot be used;
    returns ``status == "failed"`` (no posterior) when the fit does not converge. A state
    starts at the prior mode (what a replay reproduces); ``start`` warm-starts a refit."""
    check_course(course)
    eta, value, iterations, problem = map_estimate(course, start)
    if problem:
        return _failed(course, problem, value, iterations)
    hessian = Residuals(course).hessian(eta)
    try:
        np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return _failed(
            course, "the Hessian at the mode is not positive definite", value, iterations
        )
    covariance = 2.0 * np.linalg.inv(hessian)
    covariance = 0.5 * (covariance + covariance.T)
    posterior = laplace_posterior(eta, covariance, OMEGA, named_parameters(eta))
    message = f"converged in {iterations} Levenberg-Marquardt iterations ({', '.join(ETA_NAMES)})"
    return Calibration(
        "converged", message, PRIOR_VERSION, course.observation_ids(), value, iterations, posterior
    )
