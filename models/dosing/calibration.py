"""Maximum a posteriori calibration of a vancomycin course, with its Laplace posterior.

Deterministic: the search starts at the prior mode (eta = 0) and takes damped Newton steps
on the exact objective of :mod:`models.dosing.objective` with a backtracking line search,
so a replay of the same data reproduces the state bit for bit. The Laplace approximation
at the mode gives the posterior covariance ``2 H^-1`` (``H`` the Hessian of minus twice the
log posterior), the posterior SDs and the shrinkage ``1 - SD_post / omega`` per eta. A fit
that does not converge (iteration cap, no descent, a Hessian not positive definite at the
end, a non-finite value) is returned with ``status == "failed"`` and no estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.dosing.errors import CalibrationFailed
from models.dosing.history import Course, check_course
from models.dosing.objective import objective, objective_derivatives, prediction_derivatives
from models.dosing.predict import Predictor
from models.dosing.prior import ETA_NAMES, OMEGA, PRIOR_VERSION, typical_parameters
from models.mechanistic._validation import FloatArray

MAX_ITERATIONS = 50
MAX_STEP = 1.0  # largest Newton step on the log scale (per eta)
DECREMENT_TOL = 1e-12  # converged when the Newton decrement falls below this


@dataclass(frozen=True)
class Posterior:
    """The estimate: etas, their Laplace covariance, SDs, shrinkage, individual parameters.

    ``parameters`` are ``(name, value)`` of CL (L/h), V1 (L), Q (L/h), V2 (L) with the
    covariates in force at the end of the course.
    """

    eta: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    sd: tuple[float, ...]
    shrinkage: tuple[float, ...]
    parameters: tuple[tuple[str, float], ...]

    def eta_array(self) -> FloatArray:
        return np.array(self.eta)

    def covariance_array(self) -> FloatArray:
        return np.array(self.covariance)

    def parameter(self, name: str) -> float:
        return dict(self.parameters)[name]


@dataclass(frozen=True)
class Calibration:
    """One calibration state; ``posterior`` is None unless ``status == "converged"``."""

    status: str
    message: str
    prior_version: str
    observation_ids: tuple[str, ...]
    objective: float
    iterations: int
    posterior: Posterior | None

    def usable(self) -> Posterior:
        """The posterior, or :class:`CalibrationFailed` for a fit that did not converge."""
        if self.status != "converged" or self.posterior is None:
            raise CalibrationFailed(f"the calibration did not converge: {self.message}")
        return self.posterior


def current_typical(course: Course) -> FloatArray:
    """``[CL, V1, Q, V2]`` of the typical patient with the latest covariate values."""
    crcl = max(course.creatinine_clearance, key=lambda v: v.time_h).value
    weight = max(course.weight, key=lambda v: v.time_h).value
    typical: FloatArray = typical_parameters(np.array([crcl]), np.array([weight]), course.dialysis)
    row: FloatArray = typical[0]
    return row


def _newton_step(gradient: FloatArray, hessian: FloatArray) -> FloatArray | None:
    """The Newton direction, damped (Levenberg) until the matrix is positive definite."""
    damping = 0.0
    scale = float(np.max(np.abs(np.diag(hessian)))) or 1.0
    for _ in range(30):
        try:
            chol = np.linalg.cholesky(hessian + damping * np.eye(3))
        except np.linalg.LinAlgError:
            damping = max(2.0 * damping, 1e-8 * scale)
            continue
        step: FloatArray = -np.linalg.solve(chol.T, np.linalg.solve(chol, gradient))
        largest = float(np.max(np.abs(step)))
        return step * (MAX_STEP / largest) if largest > MAX_STEP else step
    return None


def _failed(course: Course, message: str, value: float, iterations: int) -> Calibration:
    return Calibration(
        "failed", message, PRIOR_VERSION, course.observation_ids(), value, iterations, None
    )


def map_estimate(
    course: Course, start: FloatArray | None = None
) -> tuple[FloatArray, float, int, str, FloatArray]:
    """The mode's etas, its objective, the iterations, "" (or why it failed), the Hessian.

    The search starts at the prior mode (eta = 0), or at ``start`` (a warm start)."""
    times = np.array([lv.time_h for lv in course.levels])
    y = np.array([lv.concentration_mg_l for lv in course.levels])
    predictor = Predictor(course, times)
    eta = np.zeros(3) if start is None else np.array(start, dtype=np.float64)
    value = math.inf
    for iteration in range(1, MAX_ITERATIONS + 1):
        f, jac, hess = prediction_derivatives(predictor, eta)
        value, gradient, hessian = objective_derivatives(y, f, jac, hess, eta)
        if not (math.isfinite(value) and np.all(np.isfinite(hessian))):
            return eta, value, iteration, "a non-finite objective or Hessian", hessian
        step = _newton_step(gradient, hessian)
        if step is None:
            return eta, value, iteration, "no positive definite Newton system", hessian
        decrement = -float(gradient @ step)
        if decrement < DECREMENT_TOL:
            try:
                np.linalg.cholesky(hessian)
            except np.linalg.LinAlgError:
                return eta, value, iteration, "the Hessian at the mode is not PD", hessian
            return eta, value, iteration, "", hessian
        t = 1.0
        for _ in range(40):
            candidate = eta + t * step
            trial = objective(y, predictor.predict(candidate)[0][0], candidate)
            if trial <= value - 1e-4 * t * decrement:
                break
            t *= 0.5
        else:
            return eta, value, iteration, "the line search found no descent", hessian
        eta = candidate
    problem = f"no convergence in {MAX_ITERATIONS} iterations"
    return eta, value, MAX_ITERATIONS, problem, np.full((3, 3), np.nan)


def calibrate(course: Course, start: FloatArray | None = None) -> Calibration:
    """MAP etas of the course's levels under the Goti 2018 prior, with the Laplace posterior.

    A state starts its search at the prior mode (what a replay reproduces); ``start`` warm-
    starts it elsewhere (the leave-one-out refits of :mod:`models.dosing.explain` start at
    the full fit's mode: same minimum, fewer iterations).

    Raises :class:`~models.dosing.errors.DosingDataError` for insufficient or contradictory
    data; returns ``status == "failed"`` (and no posterior) when the fit does not converge.
    """
    check_course(course)
    eta, value, iterations, problem, hessian = map_estimate(course, start)
    if problem:
        return _failed(course, problem, value, iterations)
    covariance = 2.0 * np.linalg.inv(hessian)
    covariance = 0.5 * (covariance + covariance.T)
    sd = np.sqrt(np.diag(covariance))
    typical = current_typical(course)
    factors = np.exp(np.array([eta[0], eta[1], 0.0, eta[2]]))
    posterior = Posterior(
        eta=tuple(float(v) for v in eta),
        covariance=tuple(tuple(float(v) for v in row) for row in covariance),
        sd=tuple(float(v) for v in sd),
        shrinkage=tuple(float(v) for v in 1.0 - sd / OMEGA),
        parameters=tuple(zip(("CL", "V1", "Q", "V2"), map(float, typical * factors), strict=True)),
    )
    message = f"converged in {iterations} Newton iterations ({', '.join(ETA_NAMES)})"
    return Calibration(
        "converged", message, PRIOR_VERSION, course.observation_ids(), value, iterations, posterior
    )
