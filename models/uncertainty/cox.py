"""A Cox twin's range: refits on bootstrap resamples of its training rows.

Each refit is the same estimator (:meth:`models.cox.CoxLinearModel.fit`, same penalty and
horizon) on rows drawn with replacement; it keeps its coefficients and its own Breslow
baseline survival at the horizon, so the range carries the uncertainty of both (a delta
method on the coefficients alone would leave the baseline's out). A patient's range is
the central 90 % of ``S0_b(h) ** exp(x'b_b)`` over the refits.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from models.cox import CoxLinearModel
from models.cox_fit import CoxConvergenceWarning
from models.errors import ArtifactFormatError
from models.uncertainty.patient_range import PatientRange, percentile_range, resamples

FloatArray = npt.NDArray[np.float64]
METHOD = "cox_bootstrap"
#: Refits stored with a version (1 s of fitting for 500 rows and 8 features).
REFITS = 200


@dataclass(frozen=True, eq=False)
class CoxBootstrap:
    #: One row of coefficients per refit, in feature order.
    coefficients: FloatArray
    #: Each refit's baseline survival at the horizon.
    baseline_survival: FloatArray
    rows: int

    def __post_init__(self) -> None:
        b = np.asarray(self.coefficients, dtype=np.float64)
        s0 = np.asarray(self.baseline_survival, dtype=np.float64).reshape(-1)
        if b.ndim != 2 or b.shape[0] != s0.size or s0.size < 20:
            raise ArtifactFormatError("Cox refits need one coefficient row per baseline, >= 20")
        if not (np.all(np.isfinite(b)) and np.all((s0 > 0) & (s0 <= 1))):
            raise ArtifactFormatError("Cox refits need finite coefficients, baselines in (0, 1]")
        object.__setattr__(self, "coefficients", b)
        object.__setattr__(self, "baseline_survival", s0)

    @classmethod
    def fit(
        cls,
        model: CoxLinearModel,
        X: npt.ArrayLike,
        time: npt.ArrayLike,
        event: npt.ArrayLike,
        *,
        alpha: float = 1e-4,
        refits: int = REFITS,
        seed: int = 0,
    ) -> CoxBootstrap:
        """Refit ``model``'s estimator on ``refits`` resamples of its training rows."""
        matrix = np.asarray(X, dtype=np.float64)
        times = np.asarray(time, dtype=np.float64)
        events = np.asarray(event, dtype=bool)
        coefficients, baselines = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CoxConvergenceWarning)
            for rows in resamples(matrix.shape[0], refits, seed):
                if float(times[rows].max()) < model.horizon:
                    continue  # this resample saw no one as far as the horizon
                refit = CoxLinearModel.fit(
                    matrix[rows], times[rows], events[rows], model.feature_names,
                    model.horizon, alpha=alpha,
                )  # fmt: skip
                coefficients.append(refit.coefficients)
                baselines.append(refit.baseline_survival_at_horizon)
        return cls(np.vstack(coefficients), np.asarray(baselines), matrix.shape[0])

    def check_matches(self, model: object) -> None:
        if not isinstance(model, CoxLinearModel) or self.coefficients.shape[1] != model.n_features:
            raise ArtifactFormatError(
                f"Cox refits of {self.coefficients.shape[1]} features do not fit the model"
            )

    def survivals(self, row: npt.ArrayLike) -> FloatArray:
        """Each refit's survival at the horizon for ``row``."""
        x = np.asarray(row, dtype=np.float64).reshape(-1)
        result: FloatArray = self.baseline_survival ** np.exp(self.coefficients @ x)
        return result

    def range_for(self, row: npt.ArrayLike, point: float) -> PatientRange:
        low, high = percentile_range(self.survivals(row))
        return PatientRange(
            low,
            high,
            "survival_probability",
            "estimate",
            f"{self.coefficients.shape[0]} refits on bootstrap resamples of the {self.rows} "
            "training rows (coefficients and baseline survival)",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "rows": self.rows,
            "coefficients": self.coefficients.tolist(),
            "baseline_survival": self.baseline_survival.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CoxBootstrap:
        try:
            return cls(
                np.asarray(data["coefficients"], dtype=np.float64),
                np.asarray(data["baseline_survival"], dtype=np.float64),
                int(data["rows"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactFormatError(f"malformed Cox refits: {exc!r}") from exc
