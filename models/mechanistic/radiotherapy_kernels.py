"""Tumour growth under fractionated radiotherapy: numba kernels (pure computation).

Parameters ``[r, K, alpha, beta]``: growth rate (1/day), carrying capacity (cm³) and the
linear-quadratic radiosensitivities (1/Gy, 1/Gy²). Growth ``model`` 0 is logistic
``dV/dt = r·V·(1 - V/K)``, 1 is Gompertz ``dV/dt = r·V·ln(K/V)``. A fraction of dose d at
time t multiplies the volume by the LQ surviving fraction ``exp(-alpha·d - beta·d²)``
(instantaneous kill). Fixed-step RK4 with steps aligned to fractions and sample times (the
shared stepper, ``stepper.py``); sampled volumes are right-continuous (after a fraction
given at that instant).

Time to progression: the first time at which the volume exceeds the pre-treatment volume
(the volume at time 0, before any fraction), located inside the RK4 step that crosses it by
cubic Hermite interpolation (values and slopes at both step ends, ``hermite.py``); it equals
the last sample time (censored) if the volume never exceeds it within the horizon. A tumour
that grows from time 0 (no fraction at time 0, or a dose of 0) progresses at time 0: an
untreated arm progresses; a tumour that cannot grow (``r = 0``) never does.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from models.mechanistic.hermite import root
from models.mechanistic.stepper import Rhs, State, integrate_events, replace, rk4_advance

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
N_PARAMS = 4
LOGISTIC = 0
GOMPERTZ = 1


#: The right-hand side's arguments: r, K, the growth model; then the pre-treatment volume
#: (at time 0), which only the step uses.
Args = tuple[float, float, int, float]


@njit(cache=True)
def _rhs(t: float, y: State, args: Args) -> State:
    """Right-hand side of the state ``(V, time to progression)``; the second item is the
    crossing time found so far (-1 for none), constant between steps."""
    r, k, model, _ = args
    v = y[0]
    if model == GOMPERTZ:
        return r * v * math.log(k / v), 0.0
    return r * v * (1.0 - v / k), 0.0


#: What the stepper's callbacks get: parameters, growth model, fraction doses and the
#: pre-treatment volume (at time 0).
Context = tuple[FloatArray, int, FloatArray, float]


@njit(cache=True)
def _fraction(i: int, y: State, ctx: Context) -> State:
    """Fraction ``i`` multiplies the volume by the LQ surviving fraction."""
    params, _, doses, _ = ctx
    d = doses[i]
    return y[0] * math.exp(-params[2] * d - params[3] * d * d), y[1]


@njit(cache=True)
def _piece_args(ctx: Context, t0: float, t1: float) -> Args:
    params, model, _, level = ctx
    return params[0], params[1], model, level


@njit(cache=True, inline="always")
def _step(
    rhs: Rhs, t: float, y: State, k1: State, h: float, args: Args, ctx: Context
) -> tuple[State, State]:
    """An RK4 step that also locates the first time the volume exceeds the pre-treatment
    volume (the step takes nothing from ``ctx``: a reference to an array there, at every
    step, would cost more than the step). Between fractions the volume is monotone, so a
    step from at most the level to above it crosses it once."""
    new, d_new = rk4_advance(rhs, t, y, k1, h, args)
    level = args[3]
    if y[1] < 0.0 and y[0] <= level < new[0]:
        s = root(0.0, 1.0, y[0], new[0], h * k1[0], h * d_new[0], level)
        new = replace(new, 1, t + s * h)
    return new, d_new


@njit(cache=True)
def tumour_integrate(
    params: FloatArray,
    model: int,
    v0: float,
    fraction_times: FloatArray,
    fraction_doses: FloatArray,
    n_fractions: int,
    sample_times: FloatArray,
    dt_max: float,
) -> tuple[FloatArray, float]:
    """One patient from volume ``v0`` at time 0: ``(volume at sample_times, ttp)``."""
    ctx = (params, model, fraction_doses, v0)
    states, y = integrate_events(
        _rhs, _step, _fraction, _piece_args, ctx, (v0, -1.0), fraction_times, n_fractions,
        np.empty(0), sample_times, dt_max,
    )  # fmt: skip
    ttp = y[1]
    if ttp < 0.0 and sample_times.shape[0] > 0:  # censored at the horizon
        ttp = sample_times[sample_times.shape[0] - 1]
    return states[:, 0].copy(), ttp


@njit(parallel=True, cache=True)
def tumour_integrate_batch(
    params: FloatArray,
    model: int,
    v0: FloatArray,
    fraction_times: FloatArray,
    fraction_doses: FloatArray,
    n_fractions: IntArray,
    sample_times: FloatArray,
    dt_max: float,
) -> tuple[FloatArray, FloatArray]:
    """Many patients: ``(volumes (n, n_samples), ttp (n,))``."""
    n = params.shape[0]
    volumes = np.empty((n, sample_times.shape[0]))
    ttp = np.empty(n)
    for i in prange(n):
        row, t = tumour_integrate(
            params[i],
            model,
            v0[i],
            fraction_times[i],
            fraction_doses[i],
            n_fractions[i],
            sample_times,
            dt_max,
        )
        volumes[i] = row
        ttp[i] = t
    return volumes, ttp
