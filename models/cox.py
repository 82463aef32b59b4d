"""A Cox proportional-hazards twin stored as plain data.

The fitted model is four numbers and a vector: the feature order, the coefficients, the
horizon and the baseline survival at that horizon. That is all a prediction needs, it is
JSON-safe, and SHAP attributions are additive in the linear predictor (the log partial
hazard), which is what :meth:`CoxLinearModel.linear_predictor` returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from models.cox_fit import baseline_survival, fit_coefficients
from models.errors import ArtifactFormatError

FloatArray = npt.NDArray[np.float64]

#: Tag written into :meth:`CoxLinearModel.to_dict` so a reader can refuse other payloads.
FORMAT_TAG = "twinreg.cox_linear/1"


@dataclass(frozen=True, eq=False)
class CoxLinearModel:
    """A Cox proportional-hazards model reduced to what prediction needs.

    ``survival_at_horizon(x) = S0(h) ** exp(x @ coefficients)`` with ``S0`` the Breslow
    baseline survival of the fit (evaluated at covariates all zero, as scikit-survival does).
    """

    feature_names: tuple[str, ...]
    coefficients: FloatArray
    horizon: float
    baseline_survival_at_horizon: float

    def __post_init__(self) -> None:
        coef = np.asarray(self.coefficients, dtype=np.float64).reshape(-1)
        if coef.shape[0] != len(self.feature_names):
            raise ArtifactFormatError(
                f"{coef.shape[0]} coefficients for {len(self.feature_names)} features"
            )
        if not np.all(np.isfinite(coef)):
            raise ArtifactFormatError("Cox coefficients must be finite")
        if not (math.isfinite(self.horizon) and self.horizon > 0):
            raise ArtifactFormatError("Cox horizon must be a positive number")
        if not 0.0 < self.baseline_survival_at_horizon <= 1.0:
            raise ArtifactFormatError("baseline survival at the horizon must be in (0, 1]")
        coef.setflags(write=False)
        object.__setattr__(self, "coefficients", coef)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def _as_matrix(self, X: npt.ArrayLike) -> FloatArray:
        matrix = np.asarray(X, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[1] != self.n_features:
            raise ValueError(
                f"expected rows of {self.n_features} features, got shape {matrix.shape}"
            )
        return matrix

    def linear_predictor(self, X: npt.ArrayLike) -> FloatArray:
        """The log partial hazard ``X @ coefficients`` (the space SHAP explains)."""
        product: FloatArray = self._as_matrix(X) @ self.coefficients
        return product

    def partial_hazard(self, X: npt.ArrayLike) -> FloatArray:
        """``exp(linear_predictor(X))``: the relative risk."""
        return cast(FloatArray, np.exp(self.linear_predictor(X)))

    def survival_at_horizon(self, X: npt.ArrayLike) -> FloatArray:
        """Probability of no event before the horizon: ``S0(h) ** exp(lp)``."""
        log_s0 = math.log(self.baseline_survival_at_horizon)
        return cast(FloatArray, np.exp(log_s0 * self.partial_hazard(X)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (floats are written with full precision by ``json``)."""
        return {
            "format": FORMAT_TAG,
            "feature_names": list(self.feature_names),
            "coefficients": [float(c) for c in self.coefficients],
            "horizon": float(self.horizon),
            "baseline_survival_at_horizon": float(self.baseline_survival_at_horizon),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CoxLinearModel:
        if not isinstance(data, dict) or data.get("format") != FORMAT_TAG:
            raise ArtifactFormatError(f"not a {FORMAT_TAG} payload")
        try:
            return cls(
                feature_names=tuple(str(n) for n in data["feature_names"]),
                coefficients=np.asarray([float(c) for c in data["coefficients"]], dtype=np.float64),
                horizon=float(data["horizon"]),
                baseline_survival_at_horizon=float(data["baseline_survival_at_horizon"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactFormatError(f"malformed Cox model: {exc!r}") from exc

    @classmethod
    def fit(
        cls,
        X: npt.ArrayLike,
        time: npt.ArrayLike,
        event: npt.ArrayLike,
        feature_names: tuple[str, ...] | list[str],
        horizon: float,
        alpha: float = 1e-4,
    ) -> CoxLinearModel:
        """Fit by Breslow's partial likelihood (:mod:`models.cox_fit`, the estimator of
        scikit-survival's ``CoxPHSurvivalAnalysis(alpha, ties="breslow")``).

        ``alpha`` is a small ridge penalty that keeps the Newton steps stable on raw
        (unscaled) clinical features.
        """
        matrix = np.asarray(X, dtype=np.float64)
        times = np.asarray(time, dtype=np.float64)
        events = np.asarray(event, dtype=bool)
        if horizon > float(times.max()):
            raise ValueError("horizon lies beyond the last observed time")
        coefficients = fit_coefficients(matrix, times, events, alpha=alpha)
        baseline = baseline_survival(matrix @ coefficients, times, events, float(horizon))
        return cls(
            feature_names=tuple(feature_names),
            coefficients=coefficients,
            horizon=float(horizon),
            baseline_survival_at_horizon=baseline,
        )
