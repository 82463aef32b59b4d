"""Two-compartment pharmacokinetics: numba kernels (pure computation, no Python objects).

State ``y = [A_gut, A_central, A_peripheral, AUC_central, A_eliminated]`` (amounts in mg,
AUC in mg·h/L), parameters ``[CL, V1, Q, V2, ka, F]`` (L/h, L, L/h, L, 1/h, fraction)::

    dA_gut/dt = -ka·A_gut
    dA1/dt    =  ka·A_gut - (CL + Q)/V1·A1 + Q/V2·A2 + R_infusion(t)
    dA2/dt    =  Q/V1·A1 - Q/V2·A2
    dAUC/dt   =  A1/V1
    dA_el/dt  =  CL/V1·A1

Doses: route 0 = IV bolus (into A1), 1 = IV infusion (constant rate amount/duration from
the dose time), 2 = oral (F·amount into A_gut). Integration is classical fixed-step RK4
whose steps are aligned with every event (dose times, infusion ends, sample times): the
time line is cut at each event and each piece is split into equal steps no longer than
``dt_max``. The right-hand side is smooth inside every step, so the method keeps its
fourth order. Sampled states are right-continuous (taken after doses at that instant).
Mass balance: ``A_gut + A1 + A2 + A_el`` equals the absorbed-dose input so far.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ROUTE_BOLUS = 0
ROUTE_INFUSION = 1
ROUTE_ORAL = 2
N_STATE = 5
N_PARAMS = 6


@njit(cache=True)
def _deriv(
    ag: float, a1: float, a2: float, p: FloatArray, rate: float
) -> tuple[float, float, float, float, float]:
    cl = p[0]
    v1 = p[1]
    q = p[2]
    v2 = p[3]
    ka = p[4]
    absorbed = ka * ag
    c1 = a1 / v1
    transfer = q * c1 - q * a2 / v2
    return -absorbed, absorbed - cl * c1 - transfer + rate, transfer, c1, cl * c1


@njit(cache=True)
def _rk4_segment(
    y: FloatArray, p: FloatArray, rate: float, t0: float, t1: float, dt_max: float
) -> None:
    """Advance ``y`` in place from ``t0`` to ``t1`` in equal RK4 steps of at most dt_max."""
    span = t1 - t0
    if span <= 0.0:
        return
    n = math.ceil(span / dt_max)
    h = span / n
    for _ in range(n):
        ag, a1, a2 = y[0], y[1], y[2]
        k1 = _deriv(ag, a1, a2, p, rate)
        k2 = _deriv(ag + 0.5 * h * k1[0], a1 + 0.5 * h * k1[1], a2 + 0.5 * h * k1[2], p, rate)
        k3 = _deriv(ag + 0.5 * h * k2[0], a1 + 0.5 * h * k2[1], a2 + 0.5 * h * k2[2], p, rate)
        k4 = _deriv(ag + h * k3[0], a1 + h * k3[1], a2 + h * k3[2], p, rate)
        y[0] += h / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0])
        y[1] += h / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1])
        y[2] += h / 6.0 * (k1[2] + 2.0 * k2[2] + 2.0 * k3[2] + k4[2])
        y[3] += h / 6.0 * (k1[3] + 2.0 * k2[3] + 2.0 * k3[3] + k4[3])
        y[4] += h / 6.0 * (k1[4] + 2.0 * k2[4] + 2.0 * k3[4] + k4[4])


@njit(cache=True)
def _infusion_rate(
    times: FloatArray,
    amounts: FloatArray,
    routes: IntArray,
    durations: FloatArray,
    n_doses: int,
    t0: float,
    t1: float,
) -> float:
    rate = 0.0
    for i in range(n_doses):
        if routes[i] == ROUTE_INFUSION and times[i] <= t0 and times[i] + durations[i] >= t1:
            rate += amounts[i] / durations[i]
    return rate


@njit(cache=True)
def pk_integrate(
    params: FloatArray,
    dose_times: FloatArray,
    dose_amounts: FloatArray,
    dose_routes: IntArray,
    dose_durations: FloatArray,
    n_doses: int,
    sample_times: FloatArray,
    dt_max: float,
) -> FloatArray:
    """One patient: the state (``N_STATE`` columns) at each of the sorted ``sample_times``.

    The first ``n_doses`` entries of the dose arrays are used (they may be padded); dose
    times must be non-decreasing and start at or after 0; the simulation starts at 0 with
    an empty body and ends at the last sample time.
    """
    n_samples = sample_times.shape[0]
    out = np.zeros((n_samples, N_STATE))
    if n_samples == 0:
        return out
    t_end = sample_times[n_samples - 1]
    points = np.empty(1 + 2 * n_doses + n_samples)
    points[0] = 0.0
    for i in range(n_doses):
        points[1 + 2 * i] = dose_times[i]
        points[2 + 2 * i] = dose_times[i] + (dose_durations[i] if dose_routes[i] == 1 else 0.0)
    points[1 + 2 * n_doses :] = sample_times
    points = np.sort(points)
    y = np.zeros(N_STATE)
    next_dose = 0
    next_sample = 0
    k = 0
    n_points = points.shape[0]
    while k < n_points and points[k] <= t_end:
        t = points[k]
        while next_dose < n_doses and dose_times[next_dose] <= t:
            route = dose_routes[next_dose]
            if route == ROUTE_BOLUS:
                y[1] += dose_amounts[next_dose]
            elif route == ROUTE_ORAL:
                y[0] += params[5] * dose_amounts[next_dose]
            next_dose += 1
        while next_sample < n_samples and sample_times[next_sample] <= t:
            out[next_sample, :] = y
            next_sample += 1
        j = k + 1
        while j < n_points and points[j] <= t:
            j += 1
        if j < n_points and points[j] <= t_end:
            t1 = points[j]
            rate = _infusion_rate(
                dose_times, dose_amounts, dose_routes, dose_durations, n_doses, t, t1
            )
            _rk4_segment(y, params, rate, t, t1, dt_max)
        k = j
    return out


@njit(parallel=True, cache=True)
def pk_integrate_batch(
    params: FloatArray,
    dose_times: FloatArray,
    dose_amounts: FloatArray,
    dose_routes: IntArray,
    dose_durations: FloatArray,
    n_doses: IntArray,
    sample_times: FloatArray,
    dt_max: float,
) -> FloatArray:
    """Many patients (row ``i`` of each 2-D input), shared sample times: ``(n, n_samples, 5)``."""
    n = params.shape[0]
    out = np.empty((n, sample_times.shape[0], N_STATE))
    for i in prange(n):
        out[i] = pk_integrate(
            params[i],
            dose_times[i],
            dose_amounts[i],
            dose_routes[i],
            dose_durations[i],
            n_doses[i],
            sample_times,
            dt_max,
        )
    return out


@njit(cache=True)
def _cycle(
    y: FloatArray,
    p: FloatArray,
    amount: float,
    route: int,
    duration: float,
    tau: float,
    dt_max: float,
) -> float:
    """One dosing interval from ``y`` (dose at its start), in place; returns the peak C1."""
    if route == ROUTE_BOLUS:
        y[1] += amount
    elif route == ROUTE_ORAL:
        y[0] += p[5] * amount
    peak = float(y[1] / p[1])
    if route == ROUTE_INFUSION:
        pieces = (duration, tau)
        rates = (amount / duration, 0.0)
    else:
        pieces = (tau, tau)
        rates = (0.0, 0.0)
    t0 = 0.0
    for piece in range(2):
        t1 = pieces[piece]
        span = t1 - t0
        if span > 0.0:
            n = math.ceil(span / dt_max)
            h = span / n
            for step in range(n):
                _rk4_segment(y, p, rates[piece], t0 + step * h, t0 + (step + 1) * h, h * 1.5)
                c = y[1] / p[1]
                if c > peak:
                    peak = c
        t0 = t1
    return peak


@njit(cache=True)
def _solve3(a: FloatArray, b: FloatArray) -> FloatArray:
    """Solve the 3x3 system ``a x = b`` by Gaussian elimination with partial pivoting."""
    m = a.copy()
    x = b.copy()
    for col in range(3):
        pivot = col
        for row in range(col + 1, 3):
            if abs(m[row, col]) > abs(m[pivot, col]):
                pivot = row
        if pivot != col:
            for k in range(3):
                m[col, k], m[pivot, k] = m[pivot, k], m[col, k]
            x[col], x[pivot] = x[pivot], x[col]
        for row in range(col + 1, 3):
            factor = m[row, col] / m[col, col]
            for k in range(col, 3):
                m[row, k] -= factor * m[col, k]
            x[row] -= factor * x[col]
    for col in range(2, -1, -1):
        s = x[col]
        for k in range(col + 1, 3):
            s -= m[col, k] * x[k]
        x[col] = s / m[col, col]
    return x


@njit(cache=True)
def pk_steady_state(
    params: FloatArray, amount: float, route: int, duration: float, tau: float, dt_max: float
) -> FloatArray:
    """Periodic steady state of a repeated dose every ``tau`` h: ``[auc24, peak, trough]``.

    The model is linear, so one RK4 dosing interval is an affine map ``x -> M x + d`` of the
    compartment amounts. ``d`` is the interval from an empty body, the columns of ``M`` are
    the dose-free intervals from unit amounts; the steady state solves ``(I - M) x = d``.
    One more interval from that state gives the AUC over the interval (scaled to 24 h),
    the peak (largest concentration at a step point; exact for bolus and infusion, whose
    peaks fall on events) and the trough (concentration just before the next dose).
    """
    y = np.zeros(N_STATE)
    _cycle(y, params, amount, route, duration, tau, dt_max)
    d = y[:3].copy()
    a = np.eye(3)
    for j in range(3):
        y[:] = 0.0
        y[j] = 1.0
        _cycle(y, params, 0.0, route, duration, tau, dt_max)
        for i in range(3):
            a[i, j] -= y[i]
    x = _solve3(a, d)
    y[:] = 0.0
    y[:3] = x
    peak = _cycle(y, params, amount, route, duration, tau, dt_max)
    out = np.empty(3)
    out[0] = y[3] * 24.0 / tau
    out[1] = peak
    out[2] = y[1] / params[1]
    return out


@njit(parallel=True, cache=True)
def pk_steady_state_batch(
    params: FloatArray,
    amounts: FloatArray,
    routes: IntArray,
    durations: FloatArray,
    taus: FloatArray,
    dt_max: float,
) -> FloatArray:
    """Many patients' steady states, ``(n, 3)`` columns ``[auc24, peak, trough]``."""
    n = params.shape[0]
    out = np.empty((n, 3))
    for i in prange(n):
        out[i] = pk_steady_state(params[i], amounts[i], routes[i], durations[i], taus[i], dt_max)
    return out
