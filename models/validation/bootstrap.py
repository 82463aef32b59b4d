"""Percentile bootstrap: seeded resamples, and a point estimate with its interval.

Every metric of a validation is resampled with the same index matrix (rows are
resamples), so that metrics computed on one sample are jointly resampled and two models
scored on the same rows are compared pairwise. Resampling is seeded: the same data and
settings always give the same intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Seed of every resampling (the date the demo twins were first trained).
DEFAULT_SEED = 20240531
#: Intervals from fewer valid resamples than this share are reported as undefined.
MIN_VALID_SHARE = 0.8


@dataclass(frozen=True)
class BootstrapSettings:
    """How intervals are computed: resamples, confidence level, seed."""

    resamples: int = 300
    level: float = 0.95
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not 20 <= int(self.resamples) <= 20_000:
            raise ValueError("bootstrap resamples must be between 20 and 20000")
        if not 0.5 < float(self.level) < 1.0:
            raise ValueError("the confidence level must lie strictly between 0.5 and 1")

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "percentile bootstrap",
            "resamples": int(self.resamples),
            "level": float(self.level),
            "seed": int(self.seed),
        }


@dataclass(frozen=True)
class Estimate:
    """A point estimate on the whole sample and its percentile bootstrap interval.

    ``low``/``high`` are NaN when fewer than :data:`MIN_VALID_SHARE` of the resamples
    gave a finite value (e.g. an AUC in resamples with a single class).
    """

    estimate: float
    low: float
    high: float
    level: float
    #: Resamples that gave a finite value.
    resamples: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": finite_or_none(self.estimate),
            "low": finite_or_none(self.low),
            "high": finite_or_none(self.high),
            "level": self.level,
            "resamples": self.resamples,
        }


def resample_indices(n: int, settings: BootstrapSettings, *stream: int) -> IntArray:
    """``(resamples, n)`` row indices drawn with replacement; ``stream`` names the sample
    (e.g. attribute and group number) so that each sample gets its own seeded draw."""
    if n < 1:
        raise ValueError("cannot resample an empty sample")
    rng = np.random.default_rng([int(settings.seed), *(int(s) for s in stream)])
    indices: IntArray = rng.integers(0, n, size=(int(settings.resamples), n), dtype=np.int64)
    return indices


def interval(point: float, replicates: npt.ArrayLike, level: float) -> Estimate:
    """The percentile interval of ``replicates`` around ``point`` (non-finite ones dropped)."""
    values = np.asarray(replicates, dtype=np.float64).reshape(-1)
    finite = values[np.isfinite(values)]
    point = float(point)
    if finite.size == 0 or finite.size < MIN_VALID_SHARE * values.size or not math.isfinite(point):
        return Estimate(point, math.nan, math.nan, float(level), int(finite.size))
    tail = (1.0 - float(level)) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return Estimate(point, float(low), float(high), float(level), int(finite.size))


def finite_or_none(value: float) -> float | None:
    """JSON-safe float: ``None`` for NaN and infinities."""
    return float(value) if math.isfinite(value) else None
