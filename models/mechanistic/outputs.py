"""What each mechanistic twin's outputs and trajectory are, in words, with units and the
range a clinician reads them against.

A range is either a *target* of a published guideline (vancomycin AUC24, the glucose
consensus targets) or a *reference* range of healthy adults at rest (blood pressure);
``None`` where no range applies to one patient (a tumour's volume). Either end of a range
may be open (``None``): time below 70 mg/dL has a ceiling only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RangeKind = Literal["target", "reference"]


@dataclass(frozen=True)
class OutputRange:
    low: float | None
    high: float | None
    kind: RangeKind
    source: str

    def verdict(self, value: float) -> Literal["below", "within", "above"]:
        """Where ``value`` lies against the range (its ends belong to it)."""
        if self.low is not None and value < self.low:
            return "below"
        if self.high is not None and value > self.high:
            return "above"
        return "within"

    def words(self, unit: str) -> str:
        """``400-600 mg·h/L``, ``at least 70 %``, ``below 4 %``."""
        tail = f" {unit}" if unit else ""
        if self.low is not None and self.high is not None:
            return f"{self.low:g}\u2013{self.high:g}{tail}"
        if self.low is not None:
            return f"at least {self.low:g}{tail}"
        return f"at most {self.high:g}{tail}"


@dataclass(frozen=True)
class OutputSpec:
    label: str
    unit: str
    range: OutputRange | None = None


@dataclass(frozen=True)
class TrajectorySpec:
    """The axes of a twin's trajectory: what is plotted against what, with units."""

    x_label: str
    x_unit: str
    y_label: str
    y_unit: str
    #: A range drawn as a band behind the curve (low, high, what it is), if any.
    y_band: tuple[float, float, str] | None = None


_VANCO = (
    "2020 ASHP/IDSA/PIDS/SIDP vancomycin guideline (Rybak et al.): AUC24 400-600 mg·h/L "
    "for serious MRSA infections, assuming an MIC of 1 mg/L"
)
_TIR = "International consensus on time in range (Battelino et al., Diabetes Care 2019)"
_BP = "typical resting adult values; not a treatment target"

OUTPUTS: dict[str, dict[str, OutputSpec]] = {
    "pk_vancomycin": {
        "auc24": OutputSpec(
            "AUC over 24 h at steady state", "mg·h/L", OutputRange(400.0, 600.0, "target", _VANCO)
        ),
        "peak": OutputSpec("peak concentration at steady state", "mg/L"),
        "trough": OutputSpec("trough concentration at steady state", "mg/L"),
    },
    "windkessel": {
        "systolic": OutputSpec(
            "systolic pressure", "mmHg", OutputRange(90.0, 120.0, "reference", _BP)
        ),
        "diastolic": OutputSpec(
            "diastolic pressure", "mmHg", OutputRange(60.0, 80.0, "reference", _BP)
        ),
        "map": OutputSpec(
            "mean arterial pressure", "mmHg", OutputRange(70.0, 100.0, "reference", _BP)
        ),
    },
    "radiotherapy": {
        "volume_day_180": OutputSpec("tumour volume 180 days after the first fraction", "cm³"),
        "time_to_progression": OutputSpec("time to progression", "days"),
    },
    "glucose_t1d": {
        "time_in_range": OutputSpec(
            "time in range 70-180 mg/dL", "%", OutputRange(70.0, None, "target", _TIR)
        ),
        "time_below_70": OutputSpec(
            "time below 70 mg/dL", "%", OutputRange(None, 4.0, "target", _TIR)
        ),
        "time_above_180": OutputSpec(
            "time above 180 mg/dL", "%", OutputRange(None, 25.0, "target", _TIR)
        ),
        "mean_glucose": OutputSpec("mean plasma glucose", "mg/dL"),
    },
}

TRAJECTORIES: dict[str, TrajectorySpec] = {
    "pk_vancomycin": TrajectorySpec("time from the first dose", "h", "concentration", "mg/L"),
    "windkessel": TrajectorySpec("time in the beat", "s", "aortic pressure", "mmHg"),
    "radiotherapy": TrajectorySpec("time from the first fraction", "days", "volume", "cm³"),
    "glucose_t1d": TrajectorySpec(
        "time of day", "h", "plasma glucose", "mg/dL", (70.0, 180.0, "target range")
    ),
}


def output_spec(kind: str, output: str) -> OutputSpec | None:
    """The output ``output`` of twins of ``kind`` in words; None when not described."""
    return OUTPUTS.get(kind, {}).get(output)


def trajectory_spec(kind: str) -> TrajectorySpec | None:
    return TRAJECTORIES.get(kind)
