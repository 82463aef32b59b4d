"""A trial arm's regimen as data: a fixed or weight-based dose, repeated as IV infusions.

``dose_mg`` (the same dose for everyone) or ``dose_mg_per_kg`` (times each patient's
weight), exactly one; ``interval_h`` between dose starts, each infused over
``infusion_h`` (not longer than the interval), ``n_doses`` doses from time 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.mechanistic._validation import FloatArray
from models.trials._checks import number, whole
from models.trials.errors import TrialInputError

MAX_DOSE_MG = 10_000.0
MAX_DOSE_MG_PER_KG = 100.0
MIN_INTERVAL_H = 1.0
MAX_INTERVAL_H = 72.0
MAX_INFUSION_H = 24.0
MAX_DOSES = 512
FIELDS = ("dose_mg", "dose_mg_per_kg", "interval_h", "infusion_h", "n_doses")


@dataclass(frozen=True)
class Regimen:
    """A validated repeated-infusion regimen (construction refuses anything invalid)."""

    interval_h: float
    infusion_h: float
    n_doses: int
    dose_mg: float | None = None
    dose_mg_per_kg: float | None = None

    def __post_init__(self) -> None:
        if (self.dose_mg is None) == (self.dose_mg_per_kg is None):
            raise TrialInputError(
                "regimen.dose", "given exactly once: dose_mg or dose_mg_per_kg, not both"
            )
        if self.dose_mg is not None:
            number("regimen.dose_mg", self.dose_mg, 0.0, MAX_DOSE_MG, low_open=True)
        if self.dose_mg_per_kg is not None:
            number(
                "regimen.dose_mg_per_kg",
                self.dose_mg_per_kg,
                0.0,
                MAX_DOSE_MG_PER_KG,
                low_open=True,
            )
        interval = number("regimen.interval_h", self.interval_h, MIN_INTERVAL_H, MAX_INTERVAL_H)
        number("regimen.infusion_h", self.infusion_h, 0.0, MAX_INFUSION_H, low_open=True)
        if self.infusion_h > interval:
            raise TrialInputError(
                "regimen.infusion_h", f"at most interval_h = {interval:g} h", self.infusion_h
            )
        whole("regimen.n_doses", self.n_doses, 1, MAX_DOSES)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Regimen:
        """From a JSON object with the keys of :data:`FIELDS` (``infusion_h`` defaults to 1)."""
        if not isinstance(data, Mapping):
            raise TrialInputError("regimen", "an object with " + ", ".join(FIELDS), data)
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise TrialInputError("regimen", "keys among " + ", ".join(FIELDS), unknown)
        for key in ("interval_h", "n_doses"):
            if key not in data:
                raise TrialInputError(f"regimen.{key}", "given")
        return cls(
            interval_h=data["interval_h"],
            infusion_h=data.get("infusion_h", 1.0),
            n_doses=data["n_doses"],
            dose_mg=data.get("dose_mg"),
            dose_mg_per_kg=data.get("dose_mg_per_kg"),
        )

    def as_dict(self) -> dict[str, float | int]:
        """The JSON form (only the dose key that is set)."""
        body: dict[str, float | int] = {}
        if self.dose_mg is not None:
            body["dose_mg"] = float(self.dose_mg)
        else:
            body["dose_mg_per_kg"] = float(self.dose_mg_per_kg or 0.0)
        body.update(
            interval_h=float(self.interval_h),
            infusion_h=float(self.infusion_h),
            n_doses=int(self.n_doses),
        )
        return body

    def describe(self) -> str:
        """E.g. ``15 mg/kg q12h over 1 h x 6``."""
        dose = (
            f"{self.dose_mg:g} mg" if self.dose_mg is not None else f"{self.dose_mg_per_kg:g} mg/kg"
        )
        return f"{dose} q{self.interval_h:g}h over {self.infusion_h:g} h x {self.n_doses}"

    def doses_mg(self, weight_kg: FloatArray) -> FloatArray:
        """Each patient's dose (mg) for the weights given."""
        if self.dose_mg is not None:
            return np.full(weight_kg.shape, float(self.dose_mg))
        result: FloatArray = float(self.dose_mg_per_kg or 0.0) * weight_kg
        return result

    def dose_starts(self, horizon_h: float) -> FloatArray:
        """Start times (h) of the doses that begin before ``horizon_h``."""
        starts = np.arange(self.n_doses, dtype=np.float64) * float(self.interval_h)
        result: FloatArray = starts[starts < horizon_h]
        return result
