"""Explainers for linear twins: logistic regression and the Cox linear predictor.

Both use ``shap.LinearExplainer`` with an independent background masker, built once:
the contribution of feature ``j`` is ``coef_j * (x_j - mean_j)`` and the base value is
the model output at the background mean. The masker keeps *every* background row (shap's
default would silently subsample to 100), so the base value is the output at the mean of
exactly the background the caller passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import shap

from explain._rows import as_background, as_row, checked_names, sigmoid
from explain.attribution import Attribution
from explain.errors import ModelMismatchError, UnsupportedKind
from explain.explained import Explained
from models import TwinKind


@runtime_checkable
class CoxLinear(Protocol):
    """What the Cox explainer needs from a proportional-hazards twin."""

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    @property
    def coefficients(self) -> np.ndarray: ...

    @property
    def horizon(self) -> float: ...

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        """Log partial hazard ``X @ coefficients`` per row."""
        ...

    def survival_at_horizon(self, X: np.ndarray) -> np.ndarray:
        """Survival probability at ``horizon`` per row."""
        ...


def _masker(background: np.ndarray, n_features: int) -> Any:
    bg = as_background(background, n_features)
    return shap.maskers.Independent(bg, max_samples=bg.shape[0])


def _base_value(explainer: Any) -> float:
    base = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
    if base.shape != (1,):
        raise ModelMismatchError(f"expected one base value, got {base.shape}")
    return float(base[0])


class LogisticRegressionExplainer:
    """Binary logistic regression: attributions in log-odds, prediction a probability."""

    kind: ClassVar[TwinKind] = TwinKind.LOGISTIC_REGRESSION

    def __init__(self, model: Any, feature_names: Sequence[str], background: np.ndarray) -> None:
        coef = getattr(model, "coef_", None)
        if coef is None or not hasattr(model, "decision_function"):
            raise ModelMismatchError(f"{self.kind.value} needs a fitted linear classifier")
        coef = np.asarray(coef)
        if coef.ndim != 2 or coef.shape[0] != 1 or len(getattr(model, "classes_", ())) != 2:
            raise UnsupportedKind(f"{self.kind.value}: only binary classifiers")
        self._names = checked_names(feature_names, coef.shape[1])
        self._n = len(self._names)
        self._model = model
        self._explainer = shap.LinearExplainer(model, _masker(background, self._n))
        self._base = _base_value(self._explainer)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def float32(self) -> bool:
        """Whether the model computes in float32, as its kind says (selects the tolerance)."""
        return self.kind.is_float32

    def explain(self, row: np.ndarray) -> Explained:
        x = as_row(row, self._n, np.float64)
        output = float(np.asarray(self._model.decision_function(x)).reshape(-1)[0])
        phi = np.asarray(self._explainer.shap_values(x), dtype=np.float64).reshape(-1)
        attribution = Attribution(
            output_space=self.kind.output_space,
            base_value=self._base,
            output_value=output,
            contributions=dict(zip(self._names, phi.tolist(), strict=True)),
        )
        return Explained(attribution, sigmoid(output), "probability")


class CoxExplainer:
    """Cox proportional hazards: attributions on the log partial hazard (risk score)."""

    kind: ClassVar[TwinKind] = TwinKind.COX_PH

    def __init__(
        self, model: CoxLinear, feature_names: Sequence[str], background: np.ndarray
    ) -> None:
        if not isinstance(model, CoxLinear):
            raise ModelMismatchError(f"{self.kind.value} needs a Cox linear model")
        coef = np.asarray(model.coefficients, dtype=np.float64)
        if coef.ndim != 1:
            raise ModelMismatchError("Cox coefficients must be one-dimensional")
        self._names = checked_names(feature_names, coef.shape[0])
        if tuple(model.feature_names) != self._names:
            raise ModelMismatchError(
                f"model feature names {model.feature_names} differ from {self._names}"
            )
        self._n = len(self._names)
        self._model = model
        self._horizon = float(model.horizon)
        self._explainer = shap.LinearExplainer((coef, 0.0), _masker(background, self._n))
        self._base = _base_value(self._explainer)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def float32(self) -> bool:
        """Whether the model computes in float32, as its kind says (selects the tolerance)."""
        return self.kind.is_float32

    def explain(self, row: np.ndarray) -> Explained:
        x = as_row(row, self._n, np.float64)
        risk = float(np.asarray(self._model.linear_predictor(x)).reshape(-1)[0])
        survival = float(np.asarray(self._model.survival_at_horizon(x)).reshape(-1)[0])
        phi = np.asarray(self._explainer.shap_values(x), dtype=np.float64).reshape(-1)
        attribution = Attribution(
            output_space=self.kind.output_space,
            base_value=self._base,
            output_value=risk,
            contributions=dict(zip(self._names, phi.tolist(), strict=True)),
        )
        return Explained(attribution, risk, "risk_score", survival, self._horizon)
