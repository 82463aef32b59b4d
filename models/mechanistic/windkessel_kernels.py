"""Three-element Windkessel: numba kernels (pure computation).

Parameters ``[R_c, R_p, C, T, T_s, SV]``: characteristic (aortic) resistance and peripheral
resistance (mmHg·s/mL), arterial compliance (mL/mmHg), beat period (s), ejection time (s)
and stroke volume (mL). Inflow is a half-sine during ejection,
``Q(t) = Q_max·sin(pi·t/T_s)`` for ``0 <= t < T_s`` (``Q_max = pi·SV/(2·T_s)``, so its
integral is SV) and zero in diastole. With ``P_c`` the pressure across the compliance::

    C·dP_c/dt = Q(t) - P_c/R_p,        P_aortic = P_c + R_c·Q(t)

Fixed-step RK4 with steps aligned to the start and end of ejection (the kink of Q). The
model is affine in ``P_c``, so the periodic steady state is the fixed point of one beat
(``P -> phi·P + d``): ``d`` is one beat from zero, ``phi`` the product of the RK4 stability
polynomials of the steps; a second beat from the fixed point gives the waveform.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

FloatArray = npt.NDArray[np.float64]
N_PARAMS = 6


@njit(cache=True)
def _inflow(t: float, q_max: float, ts: float) -> float:
    if t < ts:
        return q_max * math.sin(math.pi * t / ts)
    return 0.0


@njit(cache=True)
def _beat(p: FloatArray, p0: float, n_steps: int, wave: FloatArray) -> tuple[float, float]:
    """One beat from ``P_c = p0``; fills ``wave`` (aortic pressure at the n_steps+1 step
    points) and returns ``(P_c at the end, integral of the aortic pressure)``."""
    rc, rp, c, period, ts, sv = p[0], p[1], p[2], p[3], p[4], p[5]
    q_max = math.pi * sv / (2.0 * ts)
    n_sys = max(1, min(n_steps - 1, round(n_steps * ts / period)))
    pc = p0
    integral = 0.0
    wave[0] = pc
    t = 0.0
    k = 0
    for phase in range(2):
        if phase == 0:
            n, h, q_on = n_sys, ts / n_sys, q_max
        else:
            n, h, q_on = n_steps - n_sys, (period - ts) / (n_steps - n_sys), 0.0
        t0 = t
        for step in range(n):
            t = t0 + step * h
            qa = q_on * math.sin(math.pi * t / ts)
            qm = q_on * math.sin(math.pi * (t + 0.5 * h) / ts)
            qb = q_on * math.sin(math.pi * (t + h) / ts)
            k1 = (qa - pc / rp) / c
            k2 = (qm - (pc + 0.5 * h * k1) / rp) / c
            k3 = (qm - (pc + 0.5 * h * k2) / rp) / c
            k4 = (qb - (pc + h * k3) / rp) / c
            # quadrature of P_c + R_c·Q with the RK4 stage values
            integral += (
                h
                / 6.0
                * (
                    (pc + rc * qa)
                    + 2.0 * (pc + 0.5 * h * k1 + rc * qm)
                    + 2.0 * (pc + 0.5 * h * k2 + rc * qm)
                    + (pc + h * k3 + rc * qb)
                )
            )
            pc += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            k += 1
            wave[k] = pc + rc * qb
        t = t0 + n * h
    return pc, integral


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
    d, _ = _beat(params, 0.0, n_steps, wave)
    # homogeneous part of one RK4 beat: the stability polynomial per step, phase by phase
    n_sys = max(1, min(n_steps - 1, round(n_steps * params[4] / params[3])))
    tau = params[1] * params[2]
    z_s = -params[4] / n_sys / tau
    z_d = -(params[3] - params[4]) / (n_steps - n_sys) / tau
    r_s = 1.0 + z_s + z_s**2 / 2.0 + z_s**3 / 6.0 + z_s**4 / 24.0
    r_d = 1.0 + z_d + z_d**2 / 2.0 + z_d**3 / 6.0 + z_d**4 / 24.0
    phi = r_s**n_sys * r_d ** (n_steps - n_sys)
    p_ss = d / (1.0 - phi)
    _, integral = _beat(params, p_ss, n_steps, wave)
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
