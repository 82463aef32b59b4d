"""What a validator reads of a version's per-patient ranges, over its held-out rows: the
method, how wide the ranges are, how often the model's own estimate lies inside its range
and, for a range of the outcome, how often the observed outcome did (the 90 % it claims)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.card import TwinCard
from models.scoring import score
from models.uncertainty.files import Uncertainty


def _points(card: TwinCard, model: Any, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The model's own estimate per row, in the quantity its ranges are of."""
    scores = score(card.kind, model, X, card.default_output)
    for found in (scores.probability, scores.survival_at_horizon, scores.value):
        if found is not None:
            return np.asarray(found, dtype=np.float64)
    raise ValueError(f"no estimate to range for a {card.kind.value} twin")


def range_evidence(
    card: TwinCard, model: Any, uncertainty: Uncertainty | None, evaluation: pd.DataFrame
) -> dict[str, Any]:
    """The ranges of the held-out rows in ``evaluation`` (``{"method": None}`` without
    a registered method)."""
    if uncertainty is None:
        return {"method": None}
    X = evaluation.loc[:, list(card.feature_names)].to_numpy(dtype=np.float64)
    points = _points(card, model, X)
    ranges = [uncertainty.range_for(row, float(p)) for row, p in zip(X, points, strict=True)]
    lows = np.array([r.low for r in ranges])
    highs = np.array([r.high for r in ranges])
    widths = highs - lows
    first = ranges[0]
    evidence: dict[str, Any] = {
        "method": first.method,
        "of": first.quantity,
        "meaning": first.meaning,
        "level": first.level,
        "rows": len(ranges),
        "median_width": float(np.median(widths)),
        "wide_width": float(np.quantile(widths, 0.9)),
        "estimate_inside": float(np.mean((lows <= points) & (points <= highs))),
        "coverage": None,
    }
    if first.meaning == "outcome" and "y" in evaluation.columns:
        observed = evaluation["y"].to_numpy(dtype=np.float64)
        evidence["coverage"] = float(np.mean((lows <= observed) & (observed <= highs)))
    return evidence
