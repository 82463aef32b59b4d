"""A trial's summary from its arms' tallies: output quantiles, target attainment with
Wilson intervals, and each arm against the first (difference in attainment with
Newcombe's interval, difference in medians).

The arms run on the same patients; the difference interval treats them as independent
samples (Newcombe's method 10), which is conservative when the arms' outcomes are
positively correlated, as exposures of the same patients under two regimens are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from models.trials.arms import UNITS, output_index
from models.trials.intervals import newcombe, wilson
from models.trials.plan import Target, TrialPlan
from models.trials.tally import ArmTally, histogram_quantile

QUANTILES: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
LEVEL = 0.95


@dataclass(frozen=True)
class OutputSummary:
    output: str
    unit: str
    mean: float
    quantiles: tuple[tuple[float, float], ...]  # (q, value)
    minimum: float
    maximum: float

    def quantile(self, q: float) -> float:
        return dict(self.quantiles)[q]


@dataclass(frozen=True)
class Attainment:
    target: str
    hits: int
    n: int
    proportion: float
    low: float
    high: float


@dataclass(frozen=True)
class ArmSummary:
    name: str
    regimen: str
    n: int
    outputs: tuple[OutputSummary, ...]
    attainment: tuple[Attainment, ...]


@dataclass(frozen=True)
class AttainmentDifference:
    target: str
    difference: float
    low: float
    high: float


@dataclass(frozen=True)
class ArmComparison:
    """``arm`` minus ``reference``."""

    arm: str
    reference: str
    attainment: tuple[AttainmentDifference, ...]
    median_differences: tuple[tuple[str, float], ...]  # (output, difference)


@dataclass(frozen=True)
class TrialSummary:
    level: float
    arms: tuple[ArmSummary, ...]
    comparisons: tuple[ArmComparison, ...]

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = asdict(self)
        return body


def _output(tally: ArmTally, output: str, k: int) -> OutputSummary:
    return OutputSummary(
        output=output,
        unit=UNITS[output],
        mean=float(tally.sums[k] / tally.n),
        quantiles=tuple((q, histogram_quantile(tally, output, q)) for q in QUANTILES),
        minimum=float(tally.minima[k]),
        maximum=float(tally.maxima[k]),
    )


def _attainment(tally: ArmTally, target: Target, t: int) -> Attainment:
    hits = int(tally.hits[t])
    low, high = wilson(hits, tally.n, LEVEL)
    return Attainment(target.describe(), hits, tally.n, hits / tally.n, low, high)


def summarise(plan: TrialPlan, tallies: tuple[ArmTally, ...]) -> TrialSummary:
    """The summary of every arm (``tallies`` in the plan's arm order, e.g. from
    :func:`models.trials.tally.merge_results`)."""
    arms = tuple(
        ArmSummary(
            name=arm.name,
            regimen=arm.regimen.describe(),
            n=tally.n,
            outputs=tuple(_output(tally, o, output_index(o)) for o in plan.outputs),
            attainment=tuple(_attainment(tally, t, i) for i, t in enumerate(plan.targets)),
        )
        for arm, tally in zip(plan.arms, tallies, strict=True)
    )
    reference, ref_tally = arms[0], tallies[0]
    comparisons = []
    for summary, tally in zip(arms[1:], tallies[1:], strict=True):
        differences = []
        for t, target in enumerate(plan.targets):
            d, low, high = newcombe(
                int(tally.hits[t]), tally.n, int(ref_tally.hits[t]), ref_tally.n, LEVEL
            )
            differences.append(AttainmentDifference(target.describe(), d, low, high))
        medians = tuple(
            (o.output, o.quantile(0.5) - r.quantile(0.5))
            for o, r in zip(summary.outputs, reference.outputs, strict=True)
        )
        comparisons.append(ArmComparison(summary.name, reference.name, tuple(differences), medians))
    return TrialSummary(LEVEL, arms, tuple(comparisons))
