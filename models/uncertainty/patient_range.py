"""One patient's range: its level, its ends, what it is a range of and how it was found."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

#: Every range is a two-sided 90 % range.
LEVEL = 0.9
#: z of a two-sided 90 % interval of a normal distribution.
Z90 = 1.6448536269514722

#: What the range's ends are values of.
Quantity = Literal["probability", "survival_probability", "value"]
#: ``estimate``: where the model's answer for this patient could lie had it been fitted on
#: another sample; ``outcome``: where the outcomes of patients like this one fell.
Meaning = Literal["estimate", "outcome"]


@dataclass(frozen=True)
class PatientRange:
    low: float
    high: float
    quantity: Quantity
    meaning: Meaning
    #: The method in words, with its size (e.g. "200 refits on bootstrap resamples of
    #: the 478 training rows").
    method: str
    level: float = LEVEL

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise ValueError(
                f"a range needs finite ends, low <= high (got {self.low}, {self.high})"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "low": self.low,
            "high": self.high,
            "of": self.quantity,
            "meaning": self.meaning,
            "method": self.method,
        }


def percentile_range(values: npt.ArrayLike) -> tuple[float, float]:
    """The central :data:`LEVEL` range of ``values`` (the bootstrap percentile interval)."""
    tail = (1.0 - LEVEL) / 2.0
    low, high = np.quantile(np.asarray(values, dtype=np.float64), [tail, 1.0 - tail])
    return float(low), float(high)


def resamples(rows: int, refits: int, seed: int) -> list[npt.NDArray[np.intp]]:
    """``refits`` bootstrap resamples of ``rows`` row numbers (drawn with replacement)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, rows, rows) for _ in range(refits)]
