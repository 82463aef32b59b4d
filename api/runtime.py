"""The twin runtime: registry (load + hash check) and explain, composed for the gate.

Loaded models and their explainers are cached per immutable version; nothing here calls
MLflow on a cache hit.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from explain import TwinExplainer, build_explainer, check_additivity, waterfall_svg
from governance.gate import Computation
from governance.lifecycle import VersionState
from registry import LoadedTwin, TwinRegistry

BACKGROUND_ROWS = 100


@dataclass(frozen=True)
class ServedTwin:
    twin: LoadedTwin
    explainer: TwinExplainer
    feature_names: tuple[str, ...]


class RegistryRuntime:
    """Implements :class:`governance.gate.TwinRuntime` over the registry and explain."""

    def __init__(self, registry: TwinRegistry) -> None:
        self._registry = registry
        self._served: dict[tuple[str, str, str], ServedTwin] = {}
        self._lock = threading.Lock()

    def load(self, state: VersionState) -> object:
        key = (state.model, state.version, state.artifact_sha256)
        served = self._served.get(key)
        if served is not None:
            return served
        with self._lock:
            served = self._served.get(key)
            if served is None:
                twin = self._registry.load(state.model, state.version, state.artifact_sha256)
                names = state.card.feature_names
                background = twin.evaluation.loc[:, list(names)].to_numpy(dtype=np.float64)
                explainer = build_explainer(
                    state.card.kind, twin.model, names, background[:BACKGROUND_ROWS]
                )
                served = ServedTwin(twin, explainer, names)
                self._served[key] = served
        return served

    def compute(
        self,
        handle: object,
        state: VersionState,
        features: Mapping[str, float],
        options: Mapping[str, Any],
    ) -> Computation:
        assert isinstance(handle, ServedTwin)
        row = np.array([[features[n] for n in handle.feature_names]], dtype=np.float64)
        explained = handle.explainer.explain(row)
        attribution = explained.attribution
        check = check_additivity(attribution, float32=handle.explainer.float32)
        prediction: dict[str, Any] = {
            "value": explained.prediction,
            "kind": explained.prediction_kind,
        }
        if explained.prediction_kind == "probability" and state.card.threshold is not None:
            prediction["threshold"] = state.card.threshold
            prediction["above_threshold"] = explained.prediction >= state.card.threshold
        if explained.survival_probability is not None:
            prediction["survival_probability"] = explained.survival_probability
            prediction["horizon"] = explained.horizon
            prediction["horizon_unit"] = state.card.horizon_unit
        explanation: dict[str, Any] = attribution.to_dict()
        if options.get("plot") == "svg":
            explanation["plot_svg"] = waterfall_svg(attribution, features)
        detail = (
            f"base + sum of contributions = output within {check.allowed:.1e} "
            f"(residual {check.residual:.1e})"
        )
        return Computation(
            prediction=prediction,
            explanation=explanation,
            additivity_ok=check.faithful,
            additivity_detail=detail
            if check.faithful
            else f"residual {check.residual:.3e} exceeds {check.allowed:.3e}",
            warnings=handle.twin.environment_warnings,
        )

    def evict(self, model: str, version: str) -> None:
        with self._lock:
            for key in [k for k in self._served if k[:2] == (model, version)]:
                del self._served[key]
