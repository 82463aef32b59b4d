"""The Levenberg-Marquardt search and the Laplace posterior shared by the calibrations.

Each calibration (glucose, Windkessel, radiotherapy) writes minus twice its log posterior
as a sum of squares ``r(η)ᵀ r(η)`` (data residuals, then the prior terms ``η / ω``) and
hands its residuals to :func:`levenberg_marquardt`: from the start (the prior mode, or a
warm start) each iteration takes the residuals and their Jacobian at ``η`` (one batch
kernel call, the model's own finite differences), then tries the damped Gauss-Newton
(Marquardt) step, raising the damping tenfold until the objective does not increase.
Deterministic, so a replay of the same data reproduces the state. Each model keeps its
own stopping rules (:class:`Stopping`), read from its module when the search starts.

Why not ``scipy.optimize.least_squares``: the iteration count is part of each state's
message and audit record, the step is capped per η on the log scale, and the Jacobian
comes with the residuals in one batch kernel call; MINPACK's ``lm`` counts, caps and
differentiates otherwise, so the states it reached would not be the ones recorded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from models.dosing.calibration import Posterior
from models.mechanistic._validation import FloatArray

#: Damping of the first step, relative to the diagonal of ``JᵀJ``.
INITIAL_DAMPING = 1e-3


class ResidualModel(Protocol):
    """A calibration's whitened residuals ``r(η)`` (data, then prior terms)."""

    def value(self, eta: FloatArray) -> FloatArray:
        """``r(η)``."""
        ...

    def with_jacobian(self, eta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``r(η)`` and its Jacobian ``∂r/∂η``."""
        ...


@dataclass(frozen=True)
class Stopping:
    """When the search stops, and how far it steps.

    Converged before a step when ``max |gradient_scale · Jᵀr|`` is at most
    ``gradient_tol`` (if set); after a step when it moves no η by ``step_tol`` or more, or
    (if ``objective_rtol`` is set) lowers the objective by at most ``objective_rtol ·
    max(objective, 1)``. After a converged step, ``refresh_at_mode`` takes ``r`` and ``J``
    again at the mode (its objective and ``JᵀJ``); otherwise the trial objective stands.
    """

    max_iterations: int
    step_tol: float
    max_step: float
    damping_floor: float
    step_tries: int = 30
    gradient_tol: float | None = None
    gradient_scale: float = 1.0
    objective_rtol: float | None = None
    refresh_at_mode: bool = True


@dataclass(frozen=True)
class Fit:
    """Where the search ended: ``problem`` is ``""`` at a mode, else why it failed.

    ``jtj`` is the Gauss-Newton ``JᵀJ`` at the last Jacobian taken (at the mode when the
    gradient stopped the search or ``refresh_at_mode``), NaN when iterations ran out."""

    eta: FloatArray
    objective: float
    iterations: int
    problem: str
    jtj: FloatArray


def marquardt_step(r: FloatArray, jac: FloatArray, damping: float, max_step: float) -> FloatArray:
    """The damped Gauss-Newton (Marquardt) step, capped at ``max_step`` per η."""
    jtj = jac.T @ jac
    system = jtj + damping * np.diag(np.diag(jtj))
    step = np.asarray(-np.linalg.solve(system, jac.T @ r), dtype=np.float64)
    largest = float(np.max(np.abs(step)))
    return step * (max_step / largest) if largest > max_step else step


def levenberg_marquardt(residuals: ResidualModel, start: FloatArray, stopping: Stopping) -> Fit:
    """The MAP search from ``start`` (see the module's docstring)."""
    eta = np.array(start, dtype=np.float64)
    damping = INITIAL_DAMPING
    value = math.inf
    for iteration in range(1, stopping.max_iterations + 1):
        r, jac = residuals.with_jacobian(eta)
        value = float(r @ r)
        if not (math.isfinite(value) and np.all(np.isfinite(jac))):
            return Fit(eta, value, iteration, "a non-finite objective or Jacobian", jac.T @ jac)
        if stopping.gradient_tol is not None:
            gradient = stopping.gradient_scale * jac.T @ r
            if float(np.max(np.abs(gradient))) <= stopping.gradient_tol:
                return Fit(eta, value, iteration, "", jac.T @ jac)
        for _ in range(stopping.step_tries):
            step = marquardt_step(r, jac, damping, stopping.max_step)
            trial_r = residuals.value(eta + step)
            trial = float(trial_r @ trial_r)
            if math.isfinite(trial) and trial <= value:
                break
            damping *= 10.0
        else:
            return Fit(eta, value, iteration, "no step lowered the objective", jac.T @ jac)
        eta = eta + step
        damping = max(damping / 10.0, stopping.damping_floor)
        if _converged(step, value, trial, stopping):
            if not stopping.refresh_at_mode:
                return Fit(eta, trial, iteration, "", jac.T @ jac)
            r, jac = residuals.with_jacobian(eta)
            return Fit(eta, float(r @ r), iteration, "", jac.T @ jac)
    n = eta.size
    problem = f"no convergence in {stopping.max_iterations} iterations"
    return Fit(eta, value, stopping.max_iterations, problem, np.full((n, n), np.nan))


def _converged(step: FloatArray, value: float, trial: float, stopping: Stopping) -> bool:
    if float(np.max(np.abs(step))) < stopping.step_tol:
        return True
    rtol = stopping.objective_rtol
    return rtol is not None and value - trial <= rtol * max(value, 1.0)


def start_at(start: FloatArray | None, n: int) -> FloatArray:
    """The prior mode ``η = 0``, or a copy of the warm start."""
    return np.zeros(n) if start is None else np.array(start, dtype=np.float64)


def gauss_newton_covariance(jtj: FloatArray) -> FloatArray:
    """The Laplace covariance ``(JᵀJ)⁻¹`` at the mode, through its Cholesky factor
    (:class:`numpy.linalg.LinAlgError` if ``JᵀJ`` is not positive definite)."""
    root = np.linalg.inv(np.linalg.cholesky(jtj))
    covariance: FloatArray = root.T @ root
    return covariance


def laplace_posterior(
    eta: FloatArray,
    covariance: FloatArray,
    omega: FloatArray,
    parameters: Sequence[tuple[str, float]],
) -> Posterior:
    """The posterior at the mode: η, covariance, SDs, shrinkage ``1 - SD / ω`` and the
    named parameters."""
    sd = np.sqrt(np.diag(covariance))
    return Posterior(
        eta=tuple(float(v) for v in eta),
        covariance=tuple(tuple(float(v) for v in row) for row in covariance),
        sd=tuple(float(v) for v in sd),
        shrinkage=tuple(float(v) for v in 1.0 - sd / omega),
        parameters=tuple(parameters),
    )
