"""The arm kernel: many patients' exposure over one regimen, in parallel (numba ``prange``).

Patients are cut in blocks of :data:`BLOCK`; each block is integrated by the dosing
library's exact two-compartment solution
(:func:`models.dosing.kernels.piecewise_two_compartment`) on the arm's shared event grid
for a 1 mg dose, then scaled by each patient's dose (the model is linear in the dose).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from models.dosing.kernels import piecewise_two_compartment
from models.mechanistic._validation import FloatArray, IntArray

BLOCK = 256
N_OUTPUTS = 3


@njit(parallel=True, cache=True)
def arm_exposure(
    cl: FloatArray,
    v1: FloatArray,
    q: FloatArray,
    v2: FloatArray,
    doses: FloatArray,
    bounds: FloatArray,
    rate: FloatArray,
    segment: IntArray,
    sample_at: IntArray,
    auc_samples: IntArray,
    trough_sample: int,
    peak_samples: IntArray,
) -> FloatArray:
    """``(n, 3)``: AUC between ``auc_samples[0]`` and ``[1]``, the concentration at
    ``trough_sample`` and the largest at ``peak_samples`` (indices into the samples),
    each times the patient's dose; ``cl``, ``v1`` are ``(n, 1)`` (one covariate segment)."""
    n = cl.shape[0]
    out = np.empty((n, N_OUTPUTS))
    for b in prange((n + BLOCK - 1) // BLOCK):
        lo = b * BLOCK
        hi = min(n, lo + BLOCK)
        conc, auc = piecewise_two_compartment(
            cl[lo:hi], v1[lo:hi], q[lo:hi], v2[lo:hi], bounds, rate, segment, sample_at
        )
        for j in range(hi - lo):
            dose = doses[lo + j]
            peak = 0.0
            for s in peak_samples:
                peak = max(peak, conc[j, s])
            out[lo + j, 0] = dose * (auc[j, auc_samples[1]] - auc[j, auc_samples[0]])
            out[lo + j, 1] = dose * conc[j, trough_sample]
            out[lo + j, 2] = dose * peak
    return out
