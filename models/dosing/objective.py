"""The negative log posterior of the etas and its exact derivatives.

``OFV(eta) = sum_i [(y_i - f_i)^2 / w_i + ln w_i] + eta' Omega^-1 eta`` with
``w_i = 3.4^2 + (0.227 f_i)^2``: minus twice the log posterior, up to a constant that does
not depend on eta. Its gradient and Hessian follow by the chain rule from the predictions'
first and second derivatives in eta, taken by central differences on one 19-point stencil
(one batched kernel call; step 1e-4 on the log scale, truncation and rounding both near
1e-8 relative).
"""

from __future__ import annotations

import itertools

import numpy as np

from models.dosing.predict import Predictor
from models.dosing.prior import OMEGA2, SIGMA_ADD_MG_L, SIGMA_PROP
from models.mechanistic._validation import FloatArray

STEP = 1e-4
PRIOR_PRECISION: FloatArray = np.diag(1.0 / OMEGA2)
_PAIRS = tuple(itertools.combinations(range(3), 2))


def _stencil() -> FloatArray:
    rows = [np.zeros(3)]
    for i in range(3):
        for sign in (1.0, -1.0):
            rows.append(sign * STEP * np.eye(3)[i])
    for i, j in _PAIRS:
        for si, sj in ((1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)):
            row = np.zeros(3)
            row[i], row[j] = si * STEP, sj * STEP
            rows.append(row)
    return np.array(rows)


STENCIL = _stencil()


def prediction_derivatives(
    predictor: Predictor, eta: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Predictions ``f`` (n,), Jacobian ``J`` (n, 3) and Hessians ``H`` (n, 3, 3) at ``eta``."""
    conc, _ = predictor.predict(eta + STENCIL)
    f = conc[0]
    jac = np.empty((f.size, 3))
    hess = np.empty((f.size, 3, 3))
    for i in range(3):
        plus, minus = conc[1 + 2 * i], conc[2 + 2 * i]
        jac[:, i] = (plus - minus) / (2.0 * STEP)
        hess[:, i, i] = (plus - 2.0 * f + minus) / STEP**2
    for n, (i, j) in enumerate(_PAIRS):
        pp, pm, mp, mm = conc[7 + 4 * n : 11 + 4 * n]
        hess[:, i, j] = hess[:, j, i] = (pp - pm - mp + mm) / (4.0 * STEP**2)
    return f, jac, hess


def objective(y: FloatArray, f: FloatArray, eta: FloatArray) -> float:
    """``OFV`` for observations ``y``, predictions ``f`` and etas ``eta``."""
    w = SIGMA_ADD_MG_L**2 + (SIGMA_PROP * f) ** 2
    return float(np.sum((y - f) ** 2 / w + np.log(w)) + eta @ PRIOR_PRECISION @ eta)


def objective_derivatives(
    y: FloatArray, f: FloatArray, jac: FloatArray, hess: FloatArray, eta: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """``OFV``, its gradient (3,) and its Hessian (3, 3) at ``eta``."""
    r = y - f
    w = SIGMA_ADD_MG_L**2 + (SIGMA_PROP * f) ** 2
    w1 = 2.0 * SIGMA_PROP**2 * f
    w2 = 2.0 * SIGMA_PROP**2
    g1 = -2.0 * r / w - r**2 * w1 / w**2 + w1 / w
    g2 = (
        2.0 / w
        + 4.0 * r * w1 / w**2
        - r**2 * w2 / w**2
        + 2.0 * r**2 * w1**2 / w**3
        + w2 / w
        - w1**2 / w**2
    )
    value = float(np.sum(r**2 / w + np.log(w)) + eta @ PRIOR_PRECISION @ eta)
    gradient = jac.T @ g1 + 2.0 * PRIOR_PRECISION @ eta
    hessian = (
        np.einsum("n,ni,nj->ij", g2, jac, jac)
        + np.einsum("n,nij->ij", g1, hess)
        + 2.0 * PRIOR_PRECISION
    )
    return value, gradient, hessian
