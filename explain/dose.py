"""Explainer for squared-linear dosing twins (IWPC warfarin): exact Shapley values of the
dose itself, in mg/week.

The model's dose is ``f(x) = L(x)**2`` with ``L(x) = c + sum_j t_j(x_j)`` linear on the
square-root scale (one term per input; categorical inputs read a table). Interventional
Shapley values against a background ``B`` (each coalition's absent inputs taken from a
background row, averaged over the rows, as shap's independent masker does) have a closed
form for such a function. For one background row ``r`` write ``d_j = t_j(x_j) - t_j(r_j)``;
then ``f`` on a coalition ``S`` is ``(L(r) + sum_{j in S} d_j)**2``, a quadratic whose
linear part goes to each input alone and whose pair terms ``2 d_j d_k`` are split evenly,
so input ``j`` receives ``2 L(r) d_j + d_j**2 + d_j (D - d_j) = d_j (L(x) + L(r))`` with
``D = sum_k d_k = L(x) - L(r)``. Averaged over the background::

    phi_j = mean_r (t_j(x_j) - t_j(r_j)) * (L(x) + L(r))
    sum_j phi_j = mean_r (L(x) - L(r)) (L(x) + L(r)) = f(x) - mean_r f(r)

so the base value is the mean dose over the background and the contributions add up to
the dose exactly (efficiency), in mg/week. These are the values ``shap.ExactExplainer``
computes over the same background (its 2**d coalitions; the tests compare the two), at the
cost of one pass over the background instead of ``2**d`` model calls, which keeps an
explained dose as cheap as a linear twin's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from explain._rows import as_background, as_row, checked_names
from explain.attribution import Attribution
from explain.errors import InvalidRowError, ModelMismatchError
from explain.explained import Explained
from models import ModelsError, TwinKind


@runtime_checkable
class SquaredLinearDose(Protocol):
    """What the dose explainer needs: the square-root predictor in additive terms."""

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    @property
    def intercept(self) -> float: ...

    def terms(self, X: np.ndarray) -> np.ndarray:
        """Per-row, per-feature terms of the square-root dose."""
        ...

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The dose (the square-root predictor squared)."""
        ...


class SquaredLinearDoseExplainer:
    """Exact interventional Shapley values of the dose (mg/week) against the background."""

    kind: ClassVar[TwinKind] = TwinKind.IWPC_WARFARIN

    def __init__(
        self, model: SquaredLinearDose, feature_names: Sequence[str], background: np.ndarray
    ) -> None:
        if not isinstance(model, SquaredLinearDose):
            raise ModelMismatchError(f"{self.kind.value} needs a squared-linear dose model")
        inputs = tuple(model.feature_names)
        self._names = checked_names(feature_names, len(inputs))
        if self._names != inputs:
            raise ModelMismatchError(f"feature names {self._names} differ from inputs {inputs}")
        self._model = model
        bg = as_background(background, len(self._names))
        try:
            self._bg_terms = np.asarray(model.terms(bg), dtype=np.float64)
        except ModelsError as exc:
            raise ModelMismatchError(f"background outside the model's inputs: {exc}") from exc
        self._bg_root = float(model.intercept) + self._bg_terms.sum(axis=1)
        self._base = float(np.mean(self._bg_root**2))

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def float32(self) -> bool:
        """Whether the model computes in float32, as its kind says (selects the tolerance)."""
        return self.kind.is_float32

    def explain(self, row: np.ndarray) -> Explained:
        x = as_row(row, len(self._names), np.float64)
        try:
            terms = np.asarray(self._model.terms(x), dtype=np.float64)[0]
            dose = float(np.asarray(self._model.predict(x)).reshape(-1)[0])
        except ModelsError as exc:
            raise InvalidRowError(str(exc)) from exc
        root = float(self._model.intercept) + float(terms.sum())
        weights = (root + self._bg_root)[:, None]
        phi = np.mean((terms[None, :] - self._bg_terms) * weights, axis=0)
        attribution = Attribution(
            output_space=self.kind.output_space,
            base_value=self._base,
            output_value=dose,
            contributions=dict(zip(self._names, phi.tolist(), strict=True)),
        )
        return Explained(attribution, dose, "value")

    def sqrt_scale(self, row: np.ndarray) -> Attribution:
        """The same row explained on the square-root scale, where the model is linear:
        each input's term minus its mean over the background (detail for a reader who
        wants the published coefficients' own scale)."""
        x = as_row(row, len(self._names), np.float64)
        try:
            terms = np.asarray(self._model.terms(x), dtype=np.float64)[0]
        except ModelsError as exc:
            raise InvalidRowError(str(exc)) from exc
        phi = terms - self._bg_terms.mean(axis=0)
        return Attribution(
            output_space="sqrt_dose",
            base_value=float(np.mean(self._bg_root)),
            output_value=float(self._model.intercept) + float(terms.sum()),
            contributions=dict(zip(self._names, phi.tolist(), strict=True)),
        )
