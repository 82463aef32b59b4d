"""What a bias audit returns: per attribute the groups' metrics, sizes, gaps and judged
criteria (:class:`AttributeResult`), and the verdict over every attribute
(:class:`BiasAuditResult`), JSON-safe through ``to_dict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: A regressor's declared error scale -> the per-group metric its audit compares.
ERROR_METRICS: dict[str, str] = {"absolute": "mae", "relative": "mare", "sqrt": "mae_sqrt"}


@dataclass(frozen=True)
class Criterion:
    """One judged comparison: ``value <op> limit`` (``group`` set for per-group criteria)."""

    name: str
    value: float
    limit: float
    op: str  # "<=" or ">="
    group: str | None = None

    @property
    def passed(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "value": _safe(self.value),
            "op": self.op,
            "limit": _safe(self.limit),
            "passed": self.passed,
        }


@dataclass
class AttributeResult:
    """Per-group metric values, group sizes, gaps and judged criteria of one attribute."""

    attribute: str
    group_sizes: dict[str, int]
    metrics: dict[str, dict[str, float]]
    gaps: dict[str, float]
    criteria: list[Criterion] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons and all(c.passed for c in self.criteria)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "group_sizes": dict(self.group_sizes),
            "metrics": {m: {g: _safe(v) for g, v in by.items()} for m, by in self.metrics.items()},
            "gaps": {m: _safe(v) for m, v in self.gaps.items()},
            "criteria": [c.to_dict() for c in self.criteria],
            "reasons": list(self.reasons),
        }


@dataclass
class BiasAuditResult:
    passed: bool
    attributes: dict[str, AttributeResult]
    reasons: list[str]
    #: Regressors only: the declared error scale and the metric it was judged with.
    error_scale: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: non-finite floats become ``None``, group keys are strings."""
        out: dict[str, Any] = {
            "passed": self.passed,
            "attributes": {a: r.to_dict() for a, r in self.attributes.items()},
            "reasons": list(self.reasons),
        }
        if self.error_scale is not None:
            out["error_scale"] = self.error_scale
            out["error_metric"] = ERROR_METRICS[self.error_scale]
        return out


def _safe(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
