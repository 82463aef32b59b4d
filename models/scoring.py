"""Batch scoring of an evaluation set, per model kind (used by bias audits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.card import TwinKind


@dataclass(frozen=True)
class Scores:
    """Model outputs over many rows; which fields are set depends on the kind."""

    probability: np.ndarray | None = None
    value: np.ndarray | None = None
    risk_score: np.ndarray | None = None
    survival_at_horizon: np.ndarray | None = None


def score(kind: TwinKind, model: Any, X: np.ndarray, output: str | None = None) -> Scores:
    """Score every row of ``X`` (columns in card feature order).

    Mechanistic kinds predict the named ``output`` (the card's ``extra["output"]``, see
    :attr:`~models.card.TwinCard.default_output`); it is required for them and ignored
    for every other kind.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    if kind.is_mechanistic:
        if output is None:
            raise ValueError(f"scoring a {kind.value} twin needs the output to score")
        return Scores(value=np.asarray(model.predict_outputs(X, output), dtype=np.float64))
    if kind in (TwinKind.XGBOOST_CLASSIFIER, TwinKind.XGBOOST_REGRESSOR):
        margin = np.asarray(
            model.inplace_predict(X.astype(np.float32), predict_type="margin"), dtype=np.float64
        )
        if kind is TwinKind.XGBOOST_CLASSIFIER:
            return Scores(probability=1.0 / (1.0 + np.exp(-margin)))
        return Scores(value=margin)
    if kind in (TwinKind.LOGISTIC_REGRESSION, TwinKind.RANDOM_FOREST_CLASSIFIER):
        return Scores(probability=np.asarray(model.predict_proba(X), dtype=np.float64)[:, 1])
    if kind in (TwinKind.RANDOM_FOREST_REGRESSOR, TwinKind.IWPC_WARFARIN):
        return Scores(value=np.asarray(model.predict(X), dtype=np.float64))
    if kind is TwinKind.COX_PH:
        return Scores(
            risk_score=np.asarray(model.linear_predictor(X), dtype=np.float64),
            survival_at_horizon=np.asarray(model.survival_at_horizon(X), dtype=np.float64),
        )
    raise ValueError(f"no scorer for kind {kind!r}")
