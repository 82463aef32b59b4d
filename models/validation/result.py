"""What a validation returns: per-sample performance, per-group performance, the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from models.validation.bootstrap import BootstrapSettings, Estimate

#: Which metrics apply: by prediction kind, not by model family.
Family = Literal["classifier", "survival", "regression"]


@dataclass(frozen=True)
class Performance:
    """Metrics of one sample (the whole evaluation set or one group) with intervals."""

    n: int
    metrics: dict[str, Estimate]
    #: Counts that say how much evidence there is (``events``, ``positives``...).
    counts: dict[str, int] = field(default_factory=dict)
    #: Curves without intervals (calibration curve, calibration by risk group).
    curves: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": self.n,
            **{k: int(v) for k, v in self.counts.items()},
            "metrics": {name: est.to_dict() for name, est in self.metrics.items()},
        }
        if self.curves:
            out["curves"] = self.curves
        return out


@dataclass(frozen=True)
class ValidationReport:
    """Held-out performance of one version: overall and per sensitive-attribute group."""

    family: Family
    kind: str
    #: What the metrics describe, e.g. ``probability of death during follow-up``.
    target: str
    overall: Performance
    #: attribute -> group label -> performance (groups labelled as in bias audits).
    subgroups: dict[str, dict[str, Performance]]
    settings: BootstrapSettings
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "kind": self.kind,
            "target": self.target,
            "bootstrap": self.settings.to_dict(),
            "overall": self.overall.to_dict(),
            "subgroups": {
                attribute: {group: perf.to_dict() for group, perf in groups.items()}
                for attribute, groups in self.subgroups.items()
            },
            "notes": list(self.notes),
        }
