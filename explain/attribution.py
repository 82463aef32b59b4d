"""Our own serialisable attribution type and the additivity (faithfulness) check.

An :class:`Attribution` is plain data: the space in which the contributions add up, the
base value, the model's *own* output for the row (computed by a predict call, never as
``base + sum``), and one contribution per feature in schema order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Relative tolerance of the additivity check for models that compute in float64.
FLOAT64_TOLERANCE = 1e-9
#: Relative tolerance for models that compute in float32 (XGBoost).
FLOAT32_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Attribution:
    """Per-feature contributions that explain one model output in ``output_space``."""

    output_space: str
    base_value: float
    output_value: float
    contributions: Mapping[str, float]

    def __post_init__(self) -> None:
        # Own a plain copy with Python floats, so callers cannot mutate it afterwards
        # and to_dict() is JSON-ready.
        object.__setattr__(self, "base_value", float(self.base_value))
        object.__setattr__(self, "output_value", float(self.output_value))
        object.__setattr__(
            self, "contributions", {str(k): float(v) for k, v in self.contributions.items()}
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "output_space": self.output_space,
            "base_value": self.base_value,
            "output_value": self.output_value,
            "contributions": dict(self.contributions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attribution:
        return cls(
            output_space=str(data["output_space"]),
            base_value=float(data["base_value"]),
            output_value=float(data["output_value"]),
            contributions={str(k): float(v) for k, v in data["contributions"].items()},
        )


@dataclass(frozen=True)
class AdditivityCheck:
    """Outcome of :func:`check_additivity`; ``faithful`` is the verdict."""

    faithful: bool
    #: ``|base + sum(contributions) - output|``.
    residual: float
    #: The largest residual allowed: ``tolerance * max(1, sum|phi|, |output|)``.
    allowed: float
    tolerance: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "faithful": self.faithful,
            "residual": self.residual,
            "allowed": self.allowed,
            "tolerance": self.tolerance,
        }


def check_additivity(attribution: Attribution, float32: bool) -> AdditivityCheck:
    """Check ``|base + sum(phi) - output| <= tol * max(1, sum|phi|, |output|)``.

    ``tol`` is :data:`FLOAT32_TOLERANCE` for float32 models (XGBoost), else
    :data:`FLOAT64_TOLERANCE`. Any non-finite number makes the attribution unfaithful.
    """
    tolerance = FLOAT32_TOLERANCE if float32 else FLOAT64_TOLERANCE
    phi = list(attribution.contributions.values())
    numbers = [attribution.base_value, attribution.output_value, *phi]
    if not all(math.isfinite(v) for v in numbers):
        return AdditivityCheck(False, math.inf, 0.0, tolerance)
    total = math.fsum([attribution.base_value, *phi])
    residual = abs(total - attribution.output_value)
    scale = max(1.0, math.fsum(abs(v) for v in phi), abs(attribution.output_value))
    allowed = tolerance * scale
    return AdditivityCheck(residual <= allowed, residual, allowed, tolerance)
