"""Tumour growth under fractionated radiotherapy: numba kernels (pure computation).

Parameters ``[r, K, alpha, beta]``: growth rate (1/day), carrying capacity (cm³) and the
linear-quadratic radiosensitivities (1/Gy, 1/Gy²). Growth ``model`` 0 is logistic
``dV/dt = r·V·(1 - V/K)``, 1 is Gompertz ``dV/dt = r·V·ln(K/V)``. A fraction of dose d at
time t multiplies the volume by the LQ surviving fraction ``exp(-alpha·d - beta·d²)``
(instantaneous kill). Fixed-step RK4 with steps aligned to fractions and sample times;
sampled volumes are right-continuous (after a fraction given at that instant).

Time to progression: the first time after the first fraction at which the volume returns
to the pre-treatment volume (just before the first fraction), located inside the RK4 step
that crosses it by cubic Hermite interpolation (values and slopes at both step ends); it
equals the last sample time (censored) if there is no progression within the horizon.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
N_PARAMS = 4
LOGISTIC = 0
GOMPERTZ = 1


@njit(cache=True)
def _growth(v: float, p: FloatArray, model: int) -> float:
    if model == GOMPERTZ:
        return float(p[0] * v * math.log(p[1] / v))
    return float(p[0] * v * (1.0 - v / p[1]))


@njit(cache=True)
def _hermite_crossing(
    t0: float, h: float, v0: float, v1: float, f0: float, f1: float, level: float
) -> float:
    """Time in ``[t0, t0+h]`` where the cubic Hermite interpolant reaches ``level``."""
    lo = 0.0
    hi = 1.0
    for _ in range(60):
        s = 0.5 * (lo + hi)
        s2 = s * s
        s3 = s2 * s
        value = (
            (2 * s3 - 3 * s2 + 1) * v0
            + (s3 - 2 * s2 + s) * h * f0
            + (-2 * s3 + 3 * s2) * v1
            + (s3 - s2) * h * f1
        )
        if value < level:
            lo = s
        else:
            hi = s
    return t0 + 0.5 * (lo + hi) * h


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
    n_samples = sample_times.shape[0]
    out = np.zeros(n_samples)
    t_end = sample_times[n_samples - 1]
    points = np.empty(1 + n_fractions + n_samples)
    points[0] = 0.0
    points[1 : 1 + n_fractions] = fraction_times[:n_fractions]
    points[1 + n_fractions :] = sample_times
    points = np.sort(points)
    alpha = params[2]
    beta = params[3]
    v = v0
    level = -1.0
    ttp = t_end
    found = False
    next_fx = 0
    next_sample = 0
    k = 0
    n_points = points.shape[0]
    while k < n_points and points[k] <= t_end:
        t = points[k]
        while next_fx < n_fractions and fraction_times[next_fx] <= t:
            if next_fx == 0:
                level = v
            d = fraction_doses[next_fx]
            v *= math.exp(-alpha * d - beta * d * d)
            next_fx += 1
        while next_sample < n_samples and sample_times[next_sample] <= t:
            out[next_sample] = v
            next_sample += 1
        j = k + 1
        while j < n_points and points[j] <= t:
            j += 1
        if j < n_points and points[j] <= t_end:
            span = points[j] - t
            n = math.ceil(span / dt_max)
            h = span / n
            for step in range(n):
                k1 = _growth(v, params, model)
                k2 = _growth(v + 0.5 * h * k1, params, model)
                k3 = _growth(v + 0.5 * h * k2, params, model)
                k4 = _growth(v + h * k3, params, model)
                v_new = v + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
                if not found and level > 0.0 and v < level <= v_new:
                    f1 = _growth(v_new, params, model)
                    ttp = _hermite_crossing(t + step * h, h, v, v_new, k1, f1, level)
                    found = True
                v = v_new
        k = j
    return out, ttp


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
