"""A forest regressor's range of the outcome: split-conformal on out-of-bag residuals.

Every training row left out of a tree's bootstrap sample is a held-out row for that tree:
its out-of-bag prediction (the mean of the trees that did not see it) is an honest
prediction, and ``|y - oob|`` an honest residual. The ``ceil((n + 1) * 0.9)``-th smallest
of the ``n`` residuals is the half-width ``q`` of split-conformal prediction: for a new
patient exchangeable with the training rows, ``prediction -/+ q`` holds the outcome with
probability at least 90 % (Lei et al., "Distribution-free predictive inference for
regression", JASA 2018; out-of-bag residuals as in Johansson et al., 2014). An outcome no
training row had below zero (a count, a dose, a score) gets no negative end: cutting the
range at 0 loses none of its coverage of such outcomes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from models.errors import ArtifactFormatError
from models.uncertainty.patient_range import LEVEL, PatientRange

FloatArray = npt.NDArray[np.float64]
METHOD = "out_of_bag_conformal"


def out_of_bag_predictions(forest: Any, X: npt.ArrayLike) -> FloatArray:
    """Each training row's mean prediction over the trees that did not draw it (NaN for
    a row every tree drew)."""
    matrix = np.asarray(X, dtype=np.float64)
    total = np.zeros(matrix.shape[0])
    count = np.zeros(matrix.shape[0])
    for tree, drawn in zip(forest.estimators_, forest.estimators_samples_, strict=True):
        left_out = np.ones(matrix.shape[0], dtype=bool)
        left_out[drawn] = False
        total[left_out] += tree.predict(matrix[left_out])
        count[left_out] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        result: FloatArray = np.where(count > 0, total / count, np.nan)
    return result


def conformal_half_width(residuals: npt.ArrayLike) -> float:
    """The ``ceil((n + 1) * LEVEL)``-th smallest absolute residual."""
    r = np.sort(np.abs(np.asarray(residuals, dtype=np.float64)))
    rank = math.ceil((r.size + 1) * LEVEL)
    if rank > r.size:
        raise ArtifactFormatError(f"{r.size} residuals are too few for a {LEVEL:.0%} range")
    return float(r[rank - 1])


@dataclass(frozen=True)
class ResidualRange:
    half_width: float
    rows: int
    #: Every training outcome was >= 0: the range is cut at 0.
    nonnegative: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.half_width) and self.half_width >= 0 and self.rows > 0):
            raise ArtifactFormatError("a residual range needs a finite half-width >= 0")

    @classmethod
    def of_forest(cls, forest: Any, X: npt.ArrayLike, y: npt.ArrayLike) -> ResidualRange:
        """From a fitted bagged forest (``bootstrap=True``) and its training rows."""
        if not getattr(forest, "bootstrap", False):
            raise ArtifactFormatError("out-of-bag residuals need a forest fitted on bootstraps")
        oob = out_of_bag_predictions(forest, X)
        kept = np.isfinite(oob)
        outcomes = np.asarray(y, dtype=np.float64)
        residuals = outcomes[kept] - oob[kept]
        return cls(conformal_half_width(residuals), int(kept.sum()), bool(np.all(outcomes >= 0)))

    def check_matches(self, model: object) -> None:
        """Any model: the half-width is a property of its residuals."""

    def range_for(self, row: npt.ArrayLike, point: float) -> PatientRange:
        low = point - self.half_width
        return PatientRange(
            max(low, 0.0) if self.nonnegative else low,
            point + self.half_width,
            "value",
            "outcome",
            f"split-conformal on the out-of-bag residuals of {self.rows} training rows",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "rows": self.rows,
            "half_width": self.half_width,
            "nonnegative": self.nonnegative,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResidualRange:
        try:
            return cls(float(data["half_width"]), int(data["rows"]), bool(data.get("nonnegative")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactFormatError(f"malformed residual range: {exc!r}") from exc
