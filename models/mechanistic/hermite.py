"""Cubic Hermite interpolation over one integration step, for the mechanistic kernels.

Over a step of size ``h`` the kernels know the values ``v0, v1`` of a quantity at both ends
and its time derivatives; with the slopes per unit of the step fraction ``s`` in ``[0, 1]``
(``m = h·dv/dt``) the cubic Hermite interpolant is third-order accurate in ``h``. It locates
where a quantity crosses a level inside a step (a switching function of the right-hand side,
a tumour regrowing to its pre-treatment volume) and measures the time spent below a level.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True)
def hermite(s: float, v0: float, v1: float, m0: float, m1: float) -> float:
    """Cubic Hermite on [0, 1] with end values v0, v1 and end slopes m0, m1 (per unit s)."""
    s2 = s * s
    s3 = s2 * s
    return (
        (2.0 * s3 - 3.0 * s2 + 1.0) * v0
        + (s3 - 2.0 * s2 + s) * m0
        + (-2.0 * s3 + 3.0 * s2) * v1
        + (s3 - s2) * m1
    )


@njit(cache=True)
def root(lo: float, hi: float, v0: float, v1: float, m0: float, m1: float, level: float) -> float:
    """Bisection for the Hermite cubic reaching ``level`` on a monotone piece [lo, hi]."""
    rising = hermite(hi, v0, v1, m0, m1) > hermite(lo, v0, v1, m0, m1)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if (hermite(mid, v0, v1, m0, m1) < level) == rising:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@njit(cache=True)
def crossing(v0: float, v1: float, m0: float, m1: float) -> float:
    """Fraction of a step where a switching function (signs differ at the ends) hits 0."""
    lo = 0.0
    hi = 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if (hermite(mid, v0, v1, m0, m1) > 0.0) == (v0 > 0.0):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@njit(cache=True)
def below(v0: float, v1: float, m0: float, m1: float, level: float) -> float:
    """Fraction of [0, 1] on which the Hermite cubic is below ``level``."""
    # H(s) = a s^3 + b s^2 + c s + v0
    a = 2.0 * (v0 - v1) + m0 + m1
    b = 3.0 * (v1 - v0) - 2.0 * m0 - m1
    c = m0
    spread = abs(a) + abs(b) + abs(c)
    if v0 - spread >= level:
        return 0.0
    if v0 + spread < level:
        return 1.0
    # split at the extrema (roots of 3a s^2 + 2b s + c in (0, 1)); 2.0 marks "none"
    r1 = 2.0
    r2 = 2.0
    qa = 3.0 * a
    qb = 2.0 * b
    if abs(qa) > 1e-300:
        disc = qb * qb - 4.0 * qa * c
        if disc > 0.0:
            sqrt_disc = math.sqrt(disc)
            r1 = (-qb - sqrt_disc) / (2.0 * qa)
            r2 = (-qb + sqrt_disc) / (2.0 * qa)
            if r1 > r2:
                r1, r2 = r2, r1
    elif abs(qb) > 1e-300:
        r1 = -c / qb
    r1 = r1 if 0.0 < r1 < 1.0 else 2.0
    r2 = r2 if 0.0 < r2 < 1.0 else 2.0
    total = 0.0
    lo = 0.0
    for k in range(3):
        hi = r1 if k == 0 else (r2 if k == 1 else 1.0)
        if hi > 1.0:
            continue
        h_lo = hermite(lo, v0, v1, m0, m1)
        h_hi = hermite(hi, v0, v1, m0, m1)
        if h_lo < level and h_hi < level:
            total += hi - lo
        elif h_lo < level or h_hi < level:
            s = root(lo, hi, v0, v1, m0, m1, level)
            total += (s - lo) if h_lo < level else (hi - s)
        lo = hi
    return total
