"""Exact two-compartment kinetics with zero-order infusions, piecewise-constant parameters.

The time line is cut at every event (infusion start or end, covariate change, sample);
inside a piece the input rate ``R`` and the parameters are constant, so the amounts
``x = [A1, A2]`` solve ``x' = M x + [R, 0]`` exactly::

    x(t + h) = x_ss + E(h) (x(t) - x_ss),      x_ss = [R/k10, R k12/(k10 k21)]
    ∫ A1 = A1_ss h + [F(h) (x(t) - x_ss)]_1,   F(h) = ∫_0^h E(s) ds

with ``E`` the matrix exponential of ``M = [[-(k10+k12), k21], [k12, -k21]]`` written by
Sylvester's formula over its eigenvalues ``-alpha``, ``-beta`` (always distinct when
``Q > 0``). No step size, no truncation error: the superposition of the analytic infusion
solutions, evaluated piece by piece, which also covers a clearance that changes with
creatinine clearance during a course. Amounts carry over a covariate change; the
concentration is the amount over the volume in force.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@njit(cache=True)
def piecewise_two_compartment(
    cl: FloatArray,
    v1: FloatArray,
    q: FloatArray,
    v2: FloatArray,
    bounds: FloatArray,
    rate: FloatArray,
    segment: IntArray,
    sample_at: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """Concentrations (mg/L) and cumulative AUC (mg·h/L) at the samples, for ``k`` patients.

    ``cl``, ``v1``: ``(k, n_segments)``; ``q``, ``v2``: ``(k,)``; ``bounds``: the ``n + 1``
    cut times; ``rate``, ``segment``: the infusion rate (mg/h) and covariate segment of
    each of the ``n`` pieces; ``sample_at``: non-decreasing indices into ``bounds``.
    Amounts are zero at ``bounds[0]``.
    """
    k = cl.shape[0]
    n_pieces = rate.size
    n_samples = sample_at.size
    conc = np.zeros((k, n_samples))
    auc = np.zeros((k, n_samples))
    for j in range(k):
        a1 = 0.0
        a2 = 0.0
        area = 0.0
        s = 0
        while s < n_samples and sample_at[s] == 0:
            s += 1
        for i in range(n_pieces):
            vol = v1[j, segment[i]]
            k10 = cl[j, segment[i]] / vol
            k12 = q[j] / vol
            k21 = q[j] / v2[j]
            h = bounds[i + 1] - bounds[i]
            total = k10 + k12 + k21
            disc = math.sqrt((k10 + k12 - k21) ** 2 + 4.0 * k12 * k21)
            alpha = 0.5 * (total + disc)
            beta = k10 * k21 / alpha
            ea = math.exp(-alpha * h)
            eb = math.exp(-beta * h)
            ga = -math.expm1(-alpha * h) / alpha
            gb = -math.expm1(-beta * h) / beta
            ss1 = rate[i] / k10
            ss2 = ss1 * k12 / k21
            d1 = a1 - ss1
            d2 = a2 - ss2
            a11 = alpha - k10 - k12
            b11 = beta - k10 - k12
            area += (ss1 * h + ((a11 * gb - b11 * ga) * d1 + k21 * (gb - ga) * d2) / disc) / vol
            a1 = ss1 + ((a11 * eb - b11 * ea) * d1 + k21 * (eb - ea) * d2) / disc
            a2 = ss2 + (k12 * (eb - ea) * d1 + ((alpha - k21) * eb - (beta - k21) * ea) * d2) / disc
            while s < n_samples and sample_at[s] == i + 1:
                conc[j, s] = a1 / vol
                auc[j, s] = area
                s += 1
    return conc, auc
