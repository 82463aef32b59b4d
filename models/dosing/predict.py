"""Individual predictions: the course's event grid, the prior's typical values, the etas.

``CL = CL_typ(CrCL(t), dialysis) e^eta_CL``, ``V1 = V1_typ(weight(t)) e^eta_V1``,
``V2 = V2_typ e^eta_V2``, ``Q = Q_typ``; the typical values of each covariate segment come
from :func:`models.dosing.prior.typical_parameters`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from models.dosing.history import Course, Infusion, event_grid
from models.dosing.kernels import piecewise_two_compartment
from models.dosing.prior import typical_parameters
from models.mechanistic._validation import FloatArray


class Predictor:
    """Concentrations and cumulative AUC at fixed sample times for batches of etas."""

    def __init__(
        self,
        course: Course,
        sample_times: npt.ArrayLike,
        infusions: tuple[Infusion, ...] | None = None,
        covariates: tuple[float | None, float | None] = (None, None),
    ) -> None:
        """``covariates`` replaces the CrCL and/or weight timeline by one constant value."""
        times = np.asarray(sample_times, dtype=np.float64).reshape(-1)
        self.order = np.argsort(times, kind="stable")
        self.grid = event_grid(course, infusions or course.infusions, times[self.order])
        crcl, weight = self.grid.crcl, self.grid.weight
        if covariates[0] is not None:
            crcl = np.full(crcl.size, covariates[0])
        if covariates[1] is not None:
            weight = np.full(weight.size, covariates[1])
        self.typical = typical_parameters(crcl, weight, course.dialysis)

    def predict(self, etas: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Concentrations (mg/L) and cumulative AUC (mg·h/L), ``(k, n)``, for etas ``(k, 3)``."""
        e = np.exp(np.asarray(etas, dtype=np.float64).reshape(-1, 3))
        t, g = self.typical, self.grid
        cl = np.ascontiguousarray(np.outer(e[:, 0], t[:, 0]))
        v1 = np.ascontiguousarray(np.outer(e[:, 1], t[:, 1]))
        q = np.full(e.shape[0], t[0, 2])
        v2 = np.ascontiguousarray(e[:, 2] * t[0, 3])
        conc, auc = piecewise_two_compartment(
            cl, v1, q, v2, g.bounds, g.rate, g.segment, g.sample_at
        )
        out_c = np.empty_like(conc)
        out_a = np.empty_like(auc)
        out_c[:, self.order] = conc
        out_a[:, self.order] = auc
        return out_c, out_a
