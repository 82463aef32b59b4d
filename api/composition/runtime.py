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
import xgboost as xgb

from api.composition.background import explainer_background
from explain import TwinExplainer, build_explainer, check_additivity, waterfall_svg
from governance.lifecycle.versions import VersionState
from governance.release.decision import Computation
from registry import LoadedTwin, TwinRegistry


@dataclass(frozen=True)
class ServedTwin:
    twin: LoadedTwin
    explainer: TwinExplainer
    feature_names: tuple[str, ...]
    #: The rows explanations are taken against, and their description for the dossier
    #: (:func:`api.composition.background.explainer_background`).
    background: np.ndarray
    background_info: Mapping[str, Any]


#: Most points a trajectory in a response carries (it is downsampled beyond that).
MAX_TRAJECTORY_POINTS = 200


class RegistryRuntime:
    """Implements :class:`governance.release.decision.TwinRuntime` over the registry and explain."""

    def __init__(self, registry: TwinRegistry, *, local_store: bool = True) -> None:
        self._registry = registry
        # The governance store is a local file (SQLite): a decision's reads and durable
        # commit wait on no network. On PostgreSQL every decision waits on round trips
        # (and the audit append on the chain's advisory lock, held by whichever worker
        # appends): that wait must not hold up the worker's event loop.
        self._local_store = local_store
        self._served: dict[tuple[str, str, str], ServedTwin] = {}
        self._by_output: dict[tuple[str, str, str, str], TwinExplainer] = {}
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
                background, info = explainer_background(twin, names)
                explainer = build_explainer(
                    state.card.kind,
                    _single_threaded(twin.model),
                    names,
                    background,
                    output=state.card.default_output,
                )
                served = ServedTwin(twin, explainer, names, background, info)
                self._served[key] = served
        return served

    def is_warm(self, model: str, version: str | None = None) -> bool:
        """Whether a request for ``model`` (``version``, if named) is quick here: the
        governance store is local, the twin is loaded (no artifact to load or hash, unless
        a new version was approved meanwhile) and it is not mechanistic (an exact Shapley
        explanation integrates the kernel hundreds of times: 30 ms to about a second, too
        long for the event loop)."""
        if not self._local_store:
            return False
        loaded = tuple(self._served.items())  # a snapshot: other threads may be loading
        return any(
            key[0] == model and version in (None, key[1]) and not served.twin.kind.is_mechanistic
            for key, served in loaded
        )

    def is_expensive(self, model: str, version: str | None = None) -> bool:
        """Whether a request for ``model`` is expensive work: the twin is not loaded here
        yet (its artifact is read and hashed) or it is mechanistic (the kernel is
        integrated for each explanation)."""
        loaded = tuple(self._served.items())
        matches = [s for k, s in loaded if k[0] == model and version in (None, k[1])]
        return not matches or any(s.twin.kind.is_mechanistic for s in matches)

    def _explainer(
        self, served: ServedTwin, state: VersionState, output: str | None
    ) -> TwinExplainer:
        """The version's explainer; mechanistic twins get one per requested output."""
        if output is None or output == state.card.default_output:
            return served.explainer
        key = (state.model, state.version, state.artifact_sha256, output)
        explainer = self._by_output.get(key)
        if explainer is None:
            with self._lock:
                explainer = self._by_output.get(key) or build_explainer(
                    state.card.kind,
                    served.twin.model,
                    served.feature_names,
                    served.background,
                    output=output,
                )
                self._by_output[key] = explainer
        return explainer

    def compute(
        self,
        handle: object,
        state: VersionState,
        features: Mapping[str, float],
        options: Mapping[str, Any],
    ) -> Computation:
        assert isinstance(handle, ServedTwin)
        row = np.array([[features[n] for n in handle.feature_names]], dtype=np.float64)
        output = options.get("output")
        explained = self._explainer(handle, state, output).explain(row)
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
        uncertainty = handle.twin.uncertainty
        if uncertainty is not None:
            prediction["range"] = uncertainty.range_for(row[0], explained.prediction).to_dict()
        if state.card.kind.is_mechanistic:
            prediction["output"] = output or state.card.default_output
            if options.get("trajectory"):
                prediction["trajectory"] = _trajectory(handle.twin.model, row[0])
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


def _single_threaded(model: object) -> object:
    """The model as served: one thread per row. A single row gains nothing from XGBoost's
    OpenMP pool, whose barrier stalls a request for a scheduler tick whenever another
    process holds a core (measured on the 2-core machine: p90 of predict + TreeSHAP
    ~48 ms with the pool under load, ~2-6 ms single-threaded; equal when idle). Concurrent
    requests and workers are the parallelism. The registry's cached booster is left as it
    is (a copy is served)."""
    if isinstance(model, xgb.Booster):
        served = model.copy()
        served.set_param({"nthread": 1})
        return served
    return model


def _trajectory(model: Any, row: np.ndarray) -> dict[str, list[float]]:
    """The twin's curve for ``row``, downsampled to at most MAX_TRAJECTORY_POINTS."""
    times, values = model.trajectory(row)
    times, values = np.asarray(times, dtype=float), np.asarray(values, dtype=float)
    if times.size > MAX_TRAJECTORY_POINTS:
        index = np.unique(np.linspace(0, times.size - 1, MAX_TRAJECTORY_POINTS).astype(int))
        times, values = times[index], values[index]
    return {"t": times.tolist(), "y": values.tolist()}
