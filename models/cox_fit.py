"""Fitting a Cox proportional-hazards model: Breslow's partial likelihood, Newton-Raphson.

The same estimator as scikit-survival's ``CoxPHSurvivalAnalysis(alpha, ties="breslow")``
(GPL-3.0, so not used at run time): the negative log partial likelihood averaged over the
records, plus a ridge penalty ``alpha * ||w||^2 / (2 n)``; Newton steps from ``w = 0``,
halving the step whenever the loss rises, until the loss changes by less than ``tol``
relative to itself. Ties follow Breslow: every record whose time equals an event time is
in that event's risk set. The baseline survival is Breslow's estimator at covariates all
zero. ``tests/models/test_models_cox.py`` holds both to scikit-survival's results.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
from scipy.linalg import solve

FloatArray = npt.NDArray[np.float64]


class CoxConvergenceWarning(UserWarning):
    """The Newton iterations stopped at their limit before the loss settled."""


class _Breslow:
    """The penalised negative log partial likelihood, its gradient and Hessian."""

    def __init__(self, X: FloatArray, time: FloatArray, event: npt.NDArray[np.bool_], alpha: float):
        order = np.argsort(-time, kind="mergesort")  # latest first: risk sets grow down
        self.x = X[order]
        self.event = event[order]
        self.n, self.p = self.x.shape
        self.alpha = alpha
        sorted_time = time[order]
        # the last row of each group of equal times closes that time's risk set
        last = np.r_[sorted_time[1:] != sorted_time[:-1], True]
        self.closes = np.flatnonzero(last)
        group = np.cumsum(np.r_[0, last[:-1]])  # group number of every row
        self.deaths = np.bincount(group, weights=self.event, minlength=self.closes.size)
        events_x = np.zeros((self.closes.size, self.p))
        np.add.at(events_x, group[self.event], self.x[self.event])
        self.events_x = events_x
        self.with_events = self.deaths > 0

    def loss(self, w: FloatArray) -> float:
        xw = self.x @ w
        risk = np.cumsum(np.exp(xw))[self.closes][self.with_events]
        events_xw = self.events_x[self.with_events] @ w
        log_likelihood = np.sum(events_xw - self.deaths[self.with_events] * np.log(risk))
        return float(-log_likelihood / self.n + self.alpha * float(w @ w) / (2.0 * self.n))

    def gradient_hessian(self, w: FloatArray) -> tuple[FloatArray, FloatArray]:
        exp_xw = np.exp(self.x @ w)
        weighted = exp_xw[:, None] * self.x
        at = self.closes[self.with_events]
        s0 = np.cumsum(exp_xw)[at]
        s1 = np.cumsum(weighted, axis=0)[at]
        s2 = np.cumsum(weighted[:, :, None] * self.x[:, None, :], axis=0)[at]
        d = self.deaths[self.with_events]
        z = s1 / s0[:, None]
        gradient = -(self.events_x[self.with_events] - d[:, None] * z).sum(axis=0) / self.n
        spread = s2 / s0[:, None, None] - z[:, :, None] * z[:, None, :]
        hessian = (d[:, None, None] * spread).sum(axis=0) / self.n
        if self.alpha > 0:
            gradient = gradient + self.alpha * w / self.n
            hessian = hessian + np.eye(self.p) * (self.alpha / self.n)
        return gradient, hessian


def fit_coefficients(
    X: npt.ArrayLike,
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    alpha: float = 0.0,
    max_iterations: int = 100,
    tol: float = 1e-9,
) -> FloatArray:
    """The coefficients that minimise the penalised negative log partial likelihood."""
    matrix = np.asarray(X, dtype=np.float64)
    times = np.asarray(time, dtype=np.float64).reshape(-1)
    events = np.asarray(event, dtype=bool).reshape(-1)
    if matrix.ndim != 2 or matrix.shape[0] != times.size or times.size != events.size:
        raise ValueError("X, time and event must describe the same records")
    if matrix.shape[0] < 2:
        raise ValueError("a Cox model needs at least two records")
    if not (np.all(np.isfinite(matrix)) and np.all(np.isfinite(times))):
        raise ValueError("features and times must be finite")
    if not events.any():
        raise ValueError("every record is censored: there is no event to fit")
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError("alpha must be a non-negative number")
    likelihood = _Breslow(matrix, times, events, float(alpha))
    w = np.zeros(matrix.shape[1])
    w_previous = w
    loss = math.inf
    for _ in range(max_iterations):
        gradient, hessian = likelihood.gradient_hessian(w)
        delta = solve(hessian, gradient, check_finite=False)
        if not np.all(np.isfinite(delta)):
            raise ValueError("the Newton step is not finite (collinear or constant features?)")
        w_new: FloatArray = w - delta
        loss_new = likelihood.loss(w_new)
        if loss_new > loss:  # the loss rose: halve the last step and try again
            w = (w_previous + w) / 2
            loss = likelihood.loss(w)
            continue
        w_previous, w = w, w_new
        if abs(1.0 - loss_new / loss) < tol:
            return w
        loss = loss_new
    warnings.warn(
        f"the Cox fit did not converge in {max_iterations} iterations",
        CoxConvergenceWarning,
        stacklevel=2,
    )
    return w


def baseline_survival(
    linear_predictor: npt.ArrayLike, time: npt.ArrayLike, event: npt.ArrayLike, at: float
) -> float:
    """Breslow's baseline survival ``exp(-H0(at))`` at covariates all zero, with
    ``H0(at) = sum over event times t <= at of deaths(t) / sum of exp(lp) over records
    with time >= t``."""
    lp = np.asarray(linear_predictor, dtype=np.float64).reshape(-1)
    times = np.asarray(time, dtype=np.float64).reshape(-1)
    events = np.asarray(event, dtype=bool).reshape(-1)
    unique_times, group = np.unique(times, return_inverse=True)
    deaths = np.bincount(group, weights=events, minlength=unique_times.size)
    risk = np.exp(lp)
    # the risk score of everyone still followed at each unique time (time >= t)
    at_risk = np.cumsum(np.bincount(group, weights=risk, minlength=unique_times.size)[::-1])[::-1]
    upto = unique_times <= at
    cumulative_hazard = float(np.sum(deaths[upto] / at_risk[upto]))
    return math.exp(-cumulative_hazard)
