"""Verification of mechanistic twins: do the kernels solve their equations correctly?

In the vocabulary of ASME V&V 40, validation asks whether the right equations were
chosen (the held-out metrics); verification asks whether they are solved right. Two
cheap checks at a few seeded rows of the reference population:

- **code verification** against an independent reference: a closed form of the same
  model where one exists (steady-state AUC24 = daily dose / clearance for linear PK;
  mean pressure = mean inflow x total resistance for a Windkessel; the exact logistic or
  Gompertz solution between instantaneous LQ kills for tumour growth);
- **calculation verification** (discretisation error): every output recomputed with a
  four times finer step must agree. It applies to any twin exposing its step setting
  (``dt_max`` or ``n_steps``), so new mechanistic kinds are covered without a reference.

Each check reports the largest relative error over the rows and outputs it compared.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from models.card import TwinKind
from models.errors import ModelsError
from models.mechanistic import weekday_schedule

FloatArray = npt.NDArray[np.float64]
#: Rows of the reference population each check compares.
VERIFICATION_POINTS = 5
#: How much finer the step of the calculation verification is.
REFINEMENT = 4


@dataclass(frozen=True)
class VerificationCheck:
    name: str
    #: What the twin is compared with.
    reference: str
    outputs: tuple[str, ...]
    points: int
    max_relative_error: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return math.isfinite(self.max_relative_error) and (
            self.max_relative_error <= self.tolerance
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "reference": self.reference,
            "outputs": list(self.outputs),
            "points": self.points,
            "max_relative_error": (
                self.max_relative_error if math.isfinite(self.max_relative_error) else None
            ),
            "tolerance": self.tolerance,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class VerificationSummary:
    kind: str
    checks: tuple[VerificationCheck, ...]
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """At least one check ran, and every check passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "notes": list(self.notes),
        }


#: kind -> (model, rows) -> (output, reference values, what the reference is).
ClosedForm = Callable[[Any, FloatArray], tuple[str, FloatArray, str]]


def _pk_auc24(model: Any, X: FloatArray) -> tuple[str, FloatArray, str]:
    clearance = np.asarray(model.kinetic_parameters(X), dtype=np.float64)[:, 0]
    reference = X[:, 2] * (24.0 / X[:, 3]) / clearance
    return "auc24", reference, "closed form: steady-state AUC24 = dose x 24 h / interval / CL"


def _windkessel_map(model: Any, X: FloatArray) -> tuple[str, FloatArray, str]:
    resistance = X[:, 2] + float(model.characteristic_resistance)
    reference = X[:, 1] * X[:, 0] / 60.0 * resistance
    return (
        "map",
        reference,
        "closed form: mean pressure = stroke volume x heart rate x (R_p + R_c)",
    )


def _tumour_volume(model: Any, X: FloatArray) -> tuple[str, FloatArray, str]:
    horizon = float(model.horizon_days)
    capacity = float(model.carrying_capacity)
    gompertz = str(model.growth) == "gompertz"

    def grow(volume: float, rate: float, days: float) -> float:
        if gompertz:
            return capacity * math.exp(math.log(volume / capacity) * math.exp(-rate * days))
        return capacity / (1.0 + (capacity / volume - 1.0) * math.exp(-rate * days))

    reference = np.empty(X.shape[0])
    for i, (v0, doubling, alpha, alpha_beta, total, fractions) in enumerate(X):
        n = round(fractions)
        rate, beta, dose = math.log(2.0) / doubling, alpha / alpha_beta, total / n
        volume, now = float(v0), 0.0
        for day in weekday_schedule(n):
            if day > horizon:
                break
            volume = grow(volume, rate, float(day) - now)
            volume *= math.exp(-alpha * dose - beta * dose * dose)
            now = float(day)
        reference[i] = grow(volume, rate, horizon - now)
    what = "gompertz" if gompertz else "logistic"
    return (
        str(model.output_names[0]),
        reference,
        f"closed form: exact {what} growth between instantaneous linear-quadratic kills",
    )


CLOSED_FORMS: Mapping[TwinKind, ClosedForm] = MappingProxyType(
    {
        TwinKind.PK_VANCOMYCIN: _pk_auc24,
        TwinKind.WINDKESSEL: _windkessel_map,
        TwinKind.RADIOTHERAPY: _tumour_volume,
    }
)


def verify_mechanistic(
    kind: TwinKind, model: Any, X: npt.ArrayLike, tolerance: float, seed: int
) -> VerificationSummary:
    """Run the verification checks of ``kind`` at :data:`VERIFICATION_POINTS` seeded rows
    of ``X`` (rows of the reference population, card feature order)."""
    rows = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(rows.shape[0], min(VERIFICATION_POINTS, rows.shape[0]), False))
    points = np.ascontiguousarray(rows[pick])
    checks: list[VerificationCheck] = []
    notes: list[str] = []
    closed_form = CLOSED_FORMS.get(kind)
    if closed_form is None:
        notes.append(f"no closed-form reference is known for {kind.value}")
    else:
        try:
            output, reference, what = closed_form(model, points)
            got = np.asarray(model.predict_outputs(points, output), dtype=np.float64)
            error = _relative_error(got, reference)
        except (ModelsError, ValueError, AttributeError) as exc:
            output, what, error = "?", f"closed form could not be evaluated: {exc}", math.inf
        checks.append(
            VerificationCheck("code verification", what, (output,), len(points), error, tolerance)
        )
    refined = _refined(model)
    if refined is None:
        notes.append("the twin exposes no step setting (dt_max or n_steps) to refine")
    else:
        finer, setting = refined
        outputs = tuple(str(o) for o in model.output_names)
        try:
            error = max(
                _relative_error(model.predict_outputs(points, o), finer.predict_outputs(points, o))
                for o in outputs
            )
        except (ModelsError, ValueError) as exc:
            setting, error = f"{setting}: {exc}", math.inf
        checks.append(
            VerificationCheck(
                "calculation verification",
                f"the same twin with a {REFINEMENT}x finer step ({setting})",
                outputs, len(points), error, tolerance,
            )
        )  # fmt: skip
    return VerificationSummary(kind.value, tuple(checks), tuple(notes))


def _refined(model: Any) -> tuple[Any, str] | None:
    finer = copy.copy(model)
    if isinstance(getattr(model, "dt_max", None), float | int):
        finer.dt_max = float(model.dt_max) / REFINEMENT
        return finer, f"dt_max {model.dt_max:g} -> {finer.dt_max:g}"
    if isinstance(getattr(model, "n_steps", None), int):
        finer.n_steps = int(model.n_steps) * REFINEMENT
        return finer, f"n_steps {model.n_steps} -> {finer.n_steps}"
    return None


def _relative_error(got: npt.ArrayLike, reference: npt.ArrayLike) -> float:
    """Largest ``|got - reference|`` relative to the reference value, or to a thousandth of
    the largest reference value where the value itself is near zero (a percentage of time
    below range that is 0 for most patients must not turn rounding into a failure)."""
    a = np.asarray(got, dtype=np.float64).reshape(-1)
    b = np.asarray(reference, dtype=np.float64).reshape(-1)
    if a.shape != b.shape or b.size == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.inf
    floor = max(1e-12, 1e-3 * float(np.max(np.abs(b))))
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))
