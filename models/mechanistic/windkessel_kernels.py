"""Three-element Windkessel: numba kernels (pure computation).

Parameters ``[R_c, R_p, C, T, T_s, SV]``: characteristic (aortic) resistance and peripheral
resistance (mmHg·s/mL), arterial compliance (mL/mmHg), beat period (s), ejection time (s)
and stroke volume (mL). Inflow is a half-sine during ejection,
``Q(t) = Q_max·sin(pi·t/T_s)`` for ``0 <= t < T_s`` (``Q_max = pi·SV/(2·T_s)``, so its
integral is SV) and zero in diastole. With ``P_c`` the pressure across the compliance::

    C·dP_c/dt = Q(t) - P_c/R_p,        P_aortic = P_c + R_c·Q(t)

Fixed-step RK4 with steps aligned to the start and end of ejection (the kink of Q); the
ejection is integrated by the shared stepper (``stepper.py``). The model is affine in
``P_c``, so the periodic steady state is the fixed point of one beat (``P -> phi·P + d``):
``d`` is one beat from zero, ``phi`` the product of the RK4 stability polynomials ``R(z)``
of the steps. The steady beat is the RK4 beat from that fixed point, assembled without
integrating twice: the forced systole from zero plus the fixed point's homogeneous response
``R(z)^k``, and the inflow-free diastole as one multiplication by ``R(z)`` per step (the
same RK4 numbers, up to rounding).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from models.mechanistic.stepper import State, rk4_advance

FloatArray = npt.NDArray[np.float64]
N_PARAMS = 6


@njit(cache=True)
def _stability(z: float) -> tuple[float, float]:
    """RK4 on ``dP/dt = -P/tau`` with ``z = -h/tau``: one step multiplies ``P`` by ``R(z)``;
    the step's stage quadrature ``h/6·(P + 2·P2 + 2·P3 + P4)`` is ``h/6·P·S(z)``."""
    r = 1.0 + z + z * z / 2.0 + z**3 / 6.0 + z**4 / 24.0
    quad = 6.0 + 3.0 * z + z * z + z**3 / 4.0
    return r, quad


@njit(cache=True)
def _rhs(t: float, y: State, args: tuple[float, float, float, float, float]) -> State:
    """Right-hand side of ``(P_c, integral of the aortic pressure)`` during ejection (``args``:
    R_c, R_p, C, T_s, Q_max): the derivative's second item is the aortic pressure."""
    rc, rp, c, ts, q_max = args
    q = q_max * math.sin(math.pi * t / ts)
    return (q - y[0] / rp) / c, y[0] + rc * q


@njit(cache=True)
def _systole_from_zero(p: FloatArray, n_sys: int, wave: FloatArray) -> tuple[float, float]:
    """RK4 through ejection from ``P_c = 0``: fills ``wave[0..n_sys]`` with the aortic
    pressure and returns ``(P_c at the end, integral of the aortic pressure)``; the
    integral is the RK4 quadrature with the stage values."""
    rc, rp, c, ts, sv = p[0], p[1], p[2], p[4], p[5]
    args = (rc, rp, c, ts, math.pi * sv / (2.0 * ts))
    h = ts / n_sys
    y: State = (0.0, 0.0)
    k1 = _rhs(0.0, y, args)
    wave[0] = k1[1]
    for step in range(n_sys):
        y, k1 = rk4_advance(_rhs, step * h, y, k1, h, args)
        wave[step + 1] = k1[1]
    return y[0], y[1]


@njit(cache=True)
def _steady_beat(p: FloatArray, n_steps: int, wave: FloatArray) -> tuple[int, float]:
    """The periodic RK4 beat into ``wave``; returns ``(n_sys, integral of the pressure)``.

    RK4 is affine in the start pressure ``P0`` (the model is linear): the systole is the
    forced run from zero plus ``P0·R(z_s)^k``; the diastole has no inflow, so each step
    multiplies by ``R(z_d)``. Same arithmetic as stepping both beats, without the second
    integration of the forced part.
    """
    period, ts = p[3], p[4]
    tau = p[1] * p[2]
    n_sys = max(1, min(n_steps - 1, round(n_steps * ts / period)))
    n_dia = n_steps - n_sys
    h_s = ts / n_sys
    h_d = (period - ts) / n_dia
    r_s, quad_s = _stability(-h_s / tau)
    r_d, quad_d = _stability(-h_d / tau)
    d_s, integral = _systole_from_zero(p, n_sys, wave)
    phi_s = r_s**n_sys
    phi_d = r_d**n_dia
    p_ss = d_s * phi_d / (1.0 - phi_s * phi_d)
    # systole: add the homogeneous response of the start pressure
    g = 1.0
    homogeneous = 0.0
    for k in range(n_sys):
        wave[k] += p_ss * g
        homogeneous += g
        g *= r_s
    wave[n_sys] += p_ss * g
    integral += p_ss * h_s / 6.0 * quad_s * homogeneous
    # diastole: unforced, from the end-of-systole pressure
    v = d_s + p_ss * phi_s
    decay = 0.0
    for j in range(1, n_dia + 1):
        decay += v
        v *= r_d
        wave[n_sys + j] = v
    integral += h_d / 6.0 * quad_d * decay
    return n_sys, integral


@njit(cache=True)
def _refine(wave: FloatArray, i: int, lo: int, hi: int) -> float:
    """Extremum of the parabola through points i-1, i, i+1 if they lie in one segment."""
    if i <= lo or i >= hi:
        return float(wave[i])
    a, b, c = float(wave[i - 1]), float(wave[i]), float(wave[i + 1])
    curv = a - 2.0 * b + c
    if curv == 0.0:
        return b
    shift = 0.5 * (a - c) / curv
    return b - 0.25 * (a - c) * shift


@njit(cache=True)
def windkessel_beat(params: FloatArray, n_steps: int) -> tuple[FloatArray, FloatArray]:
    """Steady-state beat: ``(aortic pressure at n_steps+1 points, [systolic, diastolic, map])``.

    Systolic and diastolic pressures are the largest and smallest step values, refined by a
    parabola through the neighbouring step points when they lie in the same phase.
    """
    wave = np.empty(n_steps + 1)
    n_sys, integral = _steady_beat(params, n_steps, wave)
    i_max = int(np.argmax(wave))
    i_min = int(np.argmin(wave))
    out = np.empty(3)
    lo_max, hi_max = (0, n_sys) if i_max <= n_sys else (n_sys, n_steps)
    lo_min, hi_min = (0, n_sys) if i_min <= n_sys else (n_sys, n_steps)
    out[0] = max(wave[i_max], _refine(wave, i_max, lo_max, hi_max))
    out[1] = min(wave[i_min], _refine(wave, i_min, lo_min, hi_min))
    out[2] = integral / params[3]
    return wave, out


@njit(parallel=True, cache=True)
def windkessel_batch(params: FloatArray, n_steps: int) -> FloatArray:
    """Many patients: ``(n, 3)`` rows ``[systolic, diastolic, map]``."""
    n = params.shape[0]
    out = np.empty((n, 3))
    for i in prange(n):
        _, row = windkessel_beat(params[i], n_steps)
        out[i] = row
    return out
