"""Explainer for mechanistic twins: exact Shapley values of one named output.

A mechanistic twin (numba ODE kernel behind ``predict_outputs(X, output)``) has few
inputs, so its Shapley values are computed exactly: ``shap.ExactExplainer`` walks all
``2**d`` coalitions in Gray-code order over an independent masker that keeps *every*
background row (a reference virtual population of 10-50 rows), and evaluates all masked
rows of one explanation in a single call of the batch kernel. The base value is the mean
output over the background; the output value is the twin's own prediction for the row,
computed in that same kernel call (the row rides along with the masked rows), so an
explained prediction costs one batch of kernel work and shap's bookkeeping, which is
called per row (``explain_row``) without building a ``shap.Explanation`` around it.

Build one explainer per (model version, output): the output is chosen per request, so the
caller caches :func:`build_mechanistic_explainer` results by output name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import shap

from explain._rows import as_background, as_row, checked_names
from explain.attribution import Attribution
from explain.errors import InvalidRowError, ModelMismatchError, UnsupportedKind
from explain.explained import Explained
from models import ModelsError, TwinKind
from models.formats import MECHANISTIC_CLASSES

#: Background sizes that keep an explained prediction cheap and the base value stable.
MIN_BACKGROUND_ROWS = 10
MAX_BACKGROUND_ROWS = 50
#: Rows :func:`build_mechanistic_explainer` keeps: an explained PK prediction then needs
#: ``2**4 * 20 = 320`` kernel evaluations (tens of milliseconds on two cores).
BACKGROUND_ROWS = 20
#: Exact Shapley values cost ``2**d`` coalitions: refuse twins with more inputs.
MAX_INPUTS = 12


def _kind_of(model: object) -> TwinKind:
    for kind, cls in MECHANISTIC_CLASSES.items():
        if type(model) is cls:
            return kind
    raise ModelMismatchError(f"expected a mechanistic twin, got {type(model).__name__}")


class MechanisticExplainer:
    """Exact Shapley attribution of ``output`` to the twin's inputs, in raw output units."""

    def __init__(
        self, model: Any, feature_names: Sequence[str], background: np.ndarray, output: str
    ) -> None:
        self._kind = _kind_of(model)
        inputs = tuple(str(n) for n in model.input_names)
        self._names = checked_names(feature_names, len(inputs))
        if self._names != inputs:
            raise ModelMismatchError(f"feature names {self._names} differ from inputs {inputs}")
        if self._n > MAX_INPUTS:
            raise UnsupportedKind(f"exact Shapley values for at most {MAX_INPUTS} inputs")
        if output not in model.output_names:
            raise ModelMismatchError(
                f"{self._kind.value} has no output {output!r} "
                f"(one of {', '.join(model.output_names)})"
            )
        bg = as_background(background, self._n)
        if not MIN_BACKGROUND_ROWS <= bg.shape[0] <= MAX_BACKGROUND_ROWS:
            raise ModelMismatchError(
                f"background must have {MIN_BACKGROUND_ROWS}-{MAX_BACKGROUND_ROWS} rows, "
                f"got {bg.shape[0]}"
            )
        self._model = model
        self._output = output
        try:
            self._predict(bg)
        except ModelsError as exc:
            raise ModelMismatchError(f"background outside the twin's inputs: {exc}") from exc
        # The row being explained, per thread (explainers are shared between requests).
        self._pending = threading.local()
        masker = shap.maskers.Independent(bg, max_samples=bg.shape[0])
        self._explainer = shap.ExactExplainer(self._predict_masked, masker)

    @property
    def _n(self) -> int:
        return len(self._names)

    @property
    def kind(self) -> TwinKind:
        return self._kind

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def float32(self) -> bool:
        """Whether the model computes in float32, as its kind says (selects the tolerance)."""
        return self.kind.is_float32

    @property
    def output(self) -> str:
        """The named output this explainer attributes."""
        return self._output

    def _predict(self, X: np.ndarray) -> np.ndarray:
        """The batch function shap evaluates: one kernel call for all masked rows."""
        return np.asarray(self._model.predict_outputs(X, self._output), dtype=np.float64)

    def _predict_masked(self, X: np.ndarray) -> np.ndarray:
        """What shap evaluates: the masked rows, plus (on the first call of an explanation)
        the row itself, in one kernel call; its own output is kept aside."""
        row = getattr(self._pending, "row", None)
        if row is None:
            return self._predict(X)
        self._pending.row = None
        outputs = self._predict(np.concatenate([np.asarray(X, dtype=np.float64), row]))
        self._pending.output = float(outputs[-1])
        return outputs[:-1]

    def explain(self, row: np.ndarray) -> Explained:
        x = as_row(row, self._n, np.float64)
        self._pending.row, self._pending.output = x, None
        try:
            result = self._explainer.explain_row(
                x[0],
                max_evals="auto",
                main_effects=False,
                error_bounds=False,
                batch_size=2**MAX_INPUTS,  # every coalition in one model call
                outputs=None,
                interactions=1,
                silent=True,
            )
            output = self._pending.output
            if output is None:  # shap made no model call (none does today): predict it
                output = float(self._predict(x)[0])
        except ModelsError as exc:
            raise InvalidRowError(str(exc)) from exc
        finally:
            self._pending.row = None
        phi = np.asarray(result["values"], dtype=np.float64).reshape(-1)
        base = float(np.asarray(result["expected_values"], dtype=np.float64).reshape(-1)[0])
        attribution = Attribution(
            output_space=self._kind.output_space,
            base_value=base,
            output_value=output,
            contributions=dict(zip(self._names, phi.tolist(), strict=True)),
        )
        return Explained(attribution, output, "value")


def warm_up_exact_explainer() -> float:
    """Compile shap's own numba functions behind ``ExactExplainer``; returns the seconds.

    shap jit-compiles them without an on-disk cache, so every new process pays about
    15 s (on this 2-core machine) on its first exact explanation unless this ran at
    start-up. Together with :func:`models.mechanistic.warm_up` (the kernels) it takes the
    compilation out of the first request.
    """
    start = time.perf_counter()
    background = np.zeros((MIN_BACKGROUND_ROWS, 2))

    def total(X: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.asarray(X, dtype=np.float64).sum(axis=1)
        return result

    masker = shap.maskers.Independent(background, max_samples=MIN_BACKGROUND_ROWS)
    shap.ExactExplainer(total, masker)(np.ones((1, 2)), silent=True)
    return time.perf_counter() - start


def build_mechanistic_explainer(
    kind: TwinKind, model: object, feature_names: Sequence[str], background: np.ndarray, output: str
) -> MechanisticExplainer:
    """Build the explainer of one (mechanistic twin version, output); cache it per output.

    Keeps the first :data:`BACKGROUND_ROWS` rows of ``background`` (pass the reference
    population in random order, as the demo twins' evaluation sets are), so that callers
    handing over a larger reference set still get a cheap explanation.
    """
    if not kind.is_mechanistic:
        raise UnsupportedKind(f"{kind.value} is not a mechanistic twin kind")
    if _kind_of(model) is not kind:
        raise ModelMismatchError(f"expected a {kind.value} twin, got {type(model).__name__}")
    bg = np.asarray(background)
    return MechanisticExplainer(model, feature_names, bg[:BACKGROUND_ROWS], output)
