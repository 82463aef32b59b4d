"""What an explainer returns, and the protocol every per-kind explainer follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from explain.attribution import Attribution
from models import TwinKind

PredictionKind = Literal["probability", "risk_score", "value"]


@dataclass(frozen=True)
class Explained:
    """One explained prediction.

    ``prediction`` is in natural units: a probability for classifiers, the linear
    predictor (log partial hazard) as risk score for Cox twins, the raw value for
    regressors. Survival twins also report the survival probability at ``horizon``.
    """

    attribution: Attribution
    prediction: float
    prediction_kind: PredictionKind
    survival_probability: float | None = None
    horizon: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "prediction": self.prediction,
            "prediction_kind": self.prediction_kind,
            "survival_probability": self.survival_probability,
            "horizon": self.horizon,
            "attribution": self.attribution.to_dict(),
        }


@runtime_checkable
class TwinExplainer(Protocol):
    """Built once per model version (expensive); :meth:`explain` is cheap per row."""

    @property
    def kind(self) -> TwinKind: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    @property
    def float32(self) -> bool:
        """Whether the model computes in float32 (selects the additivity tolerance)."""
        ...

    def explain(self, row: np.ndarray) -> Explained: ...
