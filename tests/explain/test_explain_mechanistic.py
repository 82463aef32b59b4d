"""Exact Shapley explanations of mechanistic twins (numba kernels behind a batch function)."""

from __future__ import annotations

import itertools
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from explain import (
    Explained,
    InvalidRowError,
    MechanisticExplainer,
    ModelMismatchError,
    TwinExplainer,
    UnsupportedKind,
    build_explainer,
    build_mechanistic_explainer,
    check_additivity,
)
from explain.mechanistic import warm_up_exact_explainer
from models import TwinKind
from models.demo_twins import DemoTwin
from models.mechanistic_demo import train_mechanistic_twins

ROWS_PER_TWIN = 6


@pytest.fixture(scope="module")
def demo() -> dict[str, DemoTwin]:
    return {t.name: t for t in train_mechanistic_twins()}


@pytest.fixture(
    params=["vancomycin-auc", "windkessel-map", "radiotherapy-response", "glucose-t1d-tir"]
)
def twin(request: pytest.FixtureRequest, demo: dict[str, DemoTwin]) -> DemoTwin:
    return demo[request.param]


def _rows(twin: DemoTwin, n: int = ROWS_PER_TWIN) -> np.ndarray:
    X = twin.evaluation.loc[:, list(twin.card.feature_names)].to_numpy(np.float64)
    return X[-n:]  # the last rows: outside the background sample drawn from the first


def _front_door(twin: DemoTwin) -> TwinExplainer:
    card = twin.card
    return build_explainer(
        card.kind, twin.model, card.feature_names, twin.background, output=card.default_output
    )


def _scale(explained: Explained) -> float:
    phi = explained.attribution.contributions.values()
    return max(1.0, math.fsum(abs(v) for v in phi), abs(explained.attribution.output_value))


def test_front_door_explains_the_card_default_output(twin: DemoTwin) -> None:
    explainer = _front_door(twin)
    assert isinstance(explainer, TwinExplainer)
    assert isinstance(explainer, MechanisticExplainer)
    assert explainer.kind is twin.card.kind
    assert explainer.output == twin.card.default_output
    assert explainer.feature_names == twin.card.feature_names
    assert explainer.float32 is False
    row = _rows(twin)[0]
    explained = explainer.explain(row)
    own = float(twin.model.predict_outputs(row[None], twin.card.default_output)[0])  # type: ignore[attr-defined]
    assert explained.attribution.output_value == own
    assert explained.prediction == own
    assert explained.prediction_kind == "value"
    assert explained.attribution.output_space == "raw"
    assert list(explained.attribution.contributions) == list(twin.card.feature_names)
    json.dumps(explained.to_dict())
    assert explainer.explain(row.tolist()) == explained  # type: ignore[arg-type]


def test_additivity_on_several_rows(twin: DemoTwin) -> None:
    explainer = _front_door(twin)
    background_mean = float(
        np.mean(twin.model.predict_outputs(twin.background, twin.card.default_output))  # type: ignore[attr-defined]
    )
    for row in _rows(twin):
        explained = explainer.explain(row)
        a = explained.attribution
        residual = abs(a.base_value + math.fsum(a.contributions.values()) - a.output_value)
        assert residual <= 1e-9 * _scale(explained)
        assert check_additivity(a, float32=explainer.float32).faithful
        assert a.base_value == pytest.approx(background_mean, rel=1e-12)


def test_every_output_can_be_explained(twin: DemoTwin) -> None:
    for output in twin.card.outputs:
        explainer = build_mechanistic_explainer(
            twin.card.kind, twin.model, twin.card.feature_names, twin.background, output
        )
        explained = explainer.explain(_rows(twin)[1])
        assert check_additivity(explained.attribution, float32=False).faithful
        own = twin.model.predict_outputs(_rows(twin)[1:2], output)[0]  # type: ignore[attr-defined]
        assert explained.prediction == own


def _brute_force_shapley(f: Any, x: np.ndarray, background: np.ndarray) -> tuple[float, np.ndarray]:
    """Interventional Shapley values from all ``2**d`` coalitions, one kernel call each."""
    d = x.shape[0]
    value: dict[frozenset[int], float] = {}
    for size in range(d + 1):
        for members in itertools.combinations(range(d), size):
            masked = background.copy()
            masked[:, list(members)] = x[list(members)]
            value[frozenset(members)] = float(np.mean(f(masked)))
    phi = np.zeros(d)
    for i in range(d):
        others = [j for j in range(d) if j != i]
        for size in range(d):
            weight = math.factorial(size) * math.factorial(d - size - 1) / math.factorial(d)
            for members in itertools.combinations(others, size):
                s = frozenset(members)
                phi[i] += weight * (value[s | {i}] - value[s])
    return value[frozenset()], phi


@pytest.mark.parametrize("name", ["vancomycin-auc", "windkessel-map", "glucose-t1d-tir"])
def test_exact_values_equal_brute_force_shapley(demo: dict[str, DemoTwin], name: str) -> None:
    twin = demo[name]
    output = twin.card.default_output
    assert output is not None
    explainer = _front_door(twin)

    def f(X: np.ndarray) -> np.ndarray:
        result: np.ndarray = twin.model.predict_outputs(X, output)  # type: ignore[attr-defined]
        return result

    for row in _rows(twin, 3):
        base, phi = _brute_force_shapley(f, row, twin.background)
        explained = explainer.explain(row)
        got = np.array(list(explained.attribution.contributions.values()))
        scale = _scale(explained)
        assert abs(explained.attribution.base_value - base) <= 1e-9 * scale
        np.testing.assert_allclose(got, phi, rtol=0, atol=1e-9 * scale)


def test_explanation_time_versus_bare_kernel_batch(
    twin: DemoTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prints the ratio (run with ``-s``); no timing assertion, as the design asks."""
    explainer = _front_door(twin)
    output = twin.card.default_output
    rows = _rows(twin)
    explainer.explain(rows[0])  # warm: numba compiled, shap's Gray codes cached

    # Record exactly the rows the explanation sends to the kernel: shap's masked batch,
    # with the twin's own prediction of the row riding along in the same call.
    batches: list[np.ndarray] = []
    own_predict = twin.model.predict_outputs  # type: ignore[attr-defined]

    def recording(X: np.ndarray, out: str) -> np.ndarray:
        batches.append(np.array(X, dtype=np.float64, copy=True))
        result: np.ndarray = own_predict(X, out)
        return result

    monkeypatch.setattr(twin.model, "predict_outputs", recording)
    for row in rows:
        explainer.explain(row)
    monkeypatch.undo()

    repeats = 3
    start = time.perf_counter()
    for _ in range(repeats):
        for row in rows:
            explainer.explain(row)
    explain_s = (time.perf_counter() - start) / (repeats * len(rows))
    start = time.perf_counter()
    for _ in range(repeats):
        for batch in batches:
            own_predict(batch, output)
    bare_s = (time.perf_counter() - start) / (repeats * len(rows))
    evaluations = sum(len(b) for b in batches) / len(rows)
    d = len(twin.card.feature_names)
    print(
        f"\n{twin.name}: explained prediction {explain_s * 1e3:.1f} ms, bare kernel batch "
        f"({evaluations:.0f} evaluations of at most 2^{d} x {len(twin.background)} + 1) "
        f"{bare_s * 1e3:.1f} ms, ratio {explain_s / bare_s:.2f}"
    )
    assert len(batches) == len(rows)  # one kernel call per explained prediction


def test_mechanistic_kinds_need_an_output(demo: dict[str, DemoTwin]) -> None:
    twin = demo["vancomycin-auc"]
    card = twin.card
    with pytest.raises(ModelMismatchError, match="output"):
        build_explainer(card.kind, twin.model, card.feature_names, twin.background)
    with pytest.raises(ModelMismatchError, match="no output"):
        build_mechanistic_explainer(
            card.kind, twin.model, card.feature_names, twin.background, "map"
        )


def test_model_of_another_kind_is_refused(demo: dict[str, DemoTwin]) -> None:
    pk, wk = demo["vancomycin-auc"], demo["windkessel-map"]
    with pytest.raises(ModelMismatchError):
        build_explainer(
            TwinKind.WINDKESSEL, pk.model, pk.card.feature_names, pk.background, output="map"
        )
    with pytest.raises(ModelMismatchError):
        MechanisticExplainer(object(), wk.card.feature_names, wk.background, "map")
    with pytest.raises(UnsupportedKind):
        build_mechanistic_explainer(
            TwinKind.COX_PH, pk.model, pk.card.feature_names, pk.background, "auc24"
        )


def test_feature_names_and_background_must_fit(demo: dict[str, DemoTwin]) -> None:
    twin = demo["vancomycin-auc"]
    names = twin.card.feature_names
    with pytest.raises(ModelMismatchError):
        MechanisticExplainer(twin.model, names[::-1], twin.background, "auc24")
    with pytest.raises(ModelMismatchError):
        MechanisticExplainer(twin.model, names[:-1], twin.background, "auc24")
    with pytest.raises(ModelMismatchError, match="rows"):
        MechanisticExplainer(twin.model, names, twin.background[:5], "auc24")
    population = twin.evaluation.loc[:, list(names)].to_numpy(np.float64)
    with pytest.raises(ModelMismatchError, match="rows"):
        MechanisticExplainer(twin.model, names, population[:60], "auc24")
    # The builder keeps the first 20 rows of a larger reference set.
    built = build_mechanistic_explainer(twin.card.kind, twin.model, names, population, "auc24")
    assert built.explain(population[0]).attribution.base_value == pytest.approx(
        float(np.mean(twin.model.predict_outputs(population[:20], "auc24")))  # type: ignore[attr-defined]
    )
    bad = twin.background.copy()
    bad[0, 0] = -1.0  # negative creatinine clearance
    with pytest.raises(ModelMismatchError, match="creatinine_clearance"):
        MechanisticExplainer(twin.model, names, bad, "auc24")


@pytest.mark.parametrize(
    "row",
    [
        [80.0, 70.0, 1000.0],  # one input short
        [80.0, 70.0, np.nan, 12.0],
        [-5.0, 70.0, 1000.0, 12.0],  # outside the twin's physiological range
        [80.0, 70.0, 1000.0, 0.5],  # interval shorter than the infusion
    ],
)
def test_invalid_rows_are_refused(demo: dict[str, DemoTwin], row: list[float]) -> None:
    twin = demo["vancomycin-auc"]
    explainer = _front_door(twin)
    with pytest.raises(InvalidRowError):
        explainer.explain(np.array(row))


@pytest.mark.parametrize(
    "row",
    [
        [11.5, 60.0, 6.0, 1.2],  # the subject is a cohort number
        [31.0, 60.0, 6.0, 1.2],
        [11.0, 60.0, -1.0, 1.2],  # negative bolus
    ],
)
def test_invalid_glucose_rows_are_refused(demo: dict[str, DemoTwin], row: list[float]) -> None:
    explainer = _front_door(demo["glucose-t1d-tir"])
    with pytest.raises(InvalidRowError):
        explainer.explain(np.array(row))


def test_glucose_contributions_point_the_physiological_way(demo: dict[str, DemoTwin]) -> None:
    """A meal far larger than the background's, with the same insulin, lowers time in
    range: the carbohydrate contribution is negative."""
    twin = demo["glucose-t1d-tir"]
    explainer = _front_door(twin)
    background_carbs = twin.background[:, 1].mean()
    row = twin.background[0].copy()
    row[1] = 140.0
    explained = explainer.explain(row)
    assert row[1] > background_carbs
    assert explained.attribution.contributions["carbs_g"] < 0.0


def test_warm_up_exact_explainer_runs() -> None:
    assert warm_up_exact_explainer() >= 0.0


def test_a_shared_explainer_keeps_each_threads_row(demo: dict[str, DemoTwin]) -> None:
    """The row rides along with shap's masked rows per thread: explanations running at
    once on one explainer (as requests do) each get their own row's output."""
    twin = demo["windkessel-map"]
    explainer = _front_door(twin)
    rows = _rows(twin)
    expected = [explainer.explain(row) for row in rows]

    def explain_all(offset: int) -> list[bool]:
        order = [(i + offset) % len(rows) for i in range(3 * len(rows))]
        return [explainer.explain(rows[i]) == expected[i] for i in order]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(explain_all, range(4)))
    assert all(all(result) for result in results)


def test_a_row_equal_to_the_whole_background_is_still_predicted(
    demo: dict[str, DemoTwin],
) -> None:
    """No input differs from the background: every contribution is zero and the output
    is still the twin's own prediction of the row."""
    twin = demo["vancomycin-auc"]
    row = _rows(twin)[0]
    card = twin.card
    explainer = build_mechanistic_explainer(
        card.kind, twin.model, card.feature_names, np.tile(row, (10, 1)), card.default_output
    )
    explained = explainer.explain(row)
    own = float(twin.model.predict_outputs(row[None], card.default_output)[0])  # type: ignore[attr-defined]
    assert explained.attribution.output_value == own
    assert explained.attribution.base_value == pytest.approx(own)
    assert all(v == 0.0 for v in explained.attribution.contributions.values())
