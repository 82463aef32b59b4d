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

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from models.mechanistic.stepper import (
    State,
    equal_steps,
    integrate_events,
    plain_step,
    replace,
    rk4_steps,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ROUTE_BOLUS = 0
ROUTE_INFUSION = 1
ROUTE_ORAL = 2
N_STATE = 5
N_PARAMS = 6
EMPTY = (0.0, 0.0, 0.0, 0.0, 0.0)


#: The right-hand side's arguments: CL, V1, Q, V2, ka and the infusion rate (mg/h).
Args = tuple[float, float, float, float, float, float]


@njit(cache=True)
def _rhs(t: float, y: State, args: Args) -> State:
    cl, v1, q, v2, ka, rate = args
    absorbed = ka * y[0]
    c1 = y[1] / v1
    transfer = q * c1 - q * y[2] / v2
    return -absorbed, absorbed - cl * c1 - transfer + rate, transfer, c1, cl * c1


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


#: What the stepper's callbacks get: parameters, then the dose arrays and their count.
Doses = tuple[FloatArray, FloatArray, FloatArray, IntArray, FloatArray, int]


@njit(cache=True)
def _dose(y: State, p: FloatArray, amount: float, route: int) -> State:
    """A bolus into A1 or an oral dose (times F) into the gut; an infusion is a rate."""
    if route == ROUTE_BOLUS:
        return replace(y, 1, y[1] + amount)
    if route == ROUTE_ORAL:
        return replace(y, 0, y[0] + p[5] * amount)
    return y


@njit(cache=True)
def _event(i: int, y: State, ctx: Doses) -> State:
    return _dose(y, ctx[0], ctx[2][i], ctx[3][i])


@njit(cache=True)
def _args(p: FloatArray, rate: float) -> Args:
    return p[0], p[1], p[2], p[3], p[4], rate


@njit(cache=True)
def _piece_args(ctx: Doses, t0: float, t1: float) -> Args:
    """The right-hand side's arguments on ``[t0, t1]``: the infusions running throughout."""
    params, times, amounts, routes, durations, n_doses = ctx
    return _args(params, _infusion_rate(times, amounts, routes, durations, n_doses, t0, t1))


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
    infusion_ends = np.empty(n_doses)
    for i in range(n_doses):
        infusion = dose_routes[i] == ROUTE_INFUSION
        infusion_ends[i] = dose_times[i] + (dose_durations[i] if infusion else 0.0)
    ctx = (params, dose_times, dose_amounts, dose_routes, dose_durations, n_doses)
    states, _ = integrate_events(
        _rhs, plain_step, _event, _piece_args, ctx, EMPTY, dose_times, n_doses, infusion_ends,
        sample_times, dt_max,
    )  # fmt: skip
    return states


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
    y: State, p: FloatArray, amount: float, route: int, duration: float, tau: float,
    dt_max: float,
) -> tuple[State, float]:  # fmt: skip
    """One dosing interval from ``y`` (dose at its start): the state at its end and the
    peak C1."""
    y = _dose(y, p, amount, route)
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
            n, h = equal_steps(span, dt_max)
            args = _args(p, rates[piece])
            for step in range(n):
                y = rk4_steps(_rhs, y, args, t0 + step * h, t0 + (step + 1) * h, h * 1.5)
                c = y[1] / p[1]
                if c > peak:
                    peak = c
        t0 = t1
    return y, peak


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
    y, _ = _cycle(EMPTY, params, amount, route, duration, tau, dt_max)
    d = np.array([y[0], y[1], y[2]])
    a = np.eye(3)
    for j in range(3):
        y, _ = _cycle(replace(EMPTY, j, 1.0), params, 0.0, route, duration, tau, dt_max)
        for i in range(3):
            a[i, j] -= y[i]
    x = _solve3(a, d)
    y, peak = _cycle((x[0], x[1], x[2], 0.0, 0.0), params, amount, route, duration, tau, dt_max)
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
