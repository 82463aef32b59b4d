"""The dose explainer: exact Shapley values of the weekly dose (mg/week), additive in dose
space, equal to what shap's exact explainer computes over the same background."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shap

from explain import (
    InvalidRowError,
    ModelMismatchError,
    SquaredLinearDoseExplainer,
    build_explainer,
    check_additivity,
    check_explanations,
)
from explain.front import background_rows_used
from models.card import TwinKind
from models.demo_twins import DemoTwin
from models.warfarin.demo import warfarin_twin
from models.warfarin.iwpc import FEATURES, IWPC_PHARMACOGENETIC


@pytest.fixture(scope="module")
def twin() -> DemoTwin:
    return warfarin_twin()


@pytest.fixture(scope="module")
def explainer(twin: DemoTwin) -> SquaredLinearDoseExplainer:
    built = build_explainer(TwinKind.IWPC_WARFARIN, twin.model, FEATURES, twin.background)
    assert isinstance(built, SquaredLinearDoseExplainer)
    return built


def rows(twin: DemoTwin, n: int) -> np.ndarray:
    out: np.ndarray = twin.evaluation.loc[: n - 1, list(FEATURES)].to_numpy(dtype=np.float64)
    return out


def test_explained_in_dose_space_and_additive(
    twin: DemoTwin, explainer: SquaredLinearDoseExplainer
) -> None:
    background_dose = IWPC_PHARMACOGENETIC.predict(twin.background)
    for x in rows(twin, 200):
        explained = explainer.explain(x)
        attribution = explained.attribution
        assert attribution.output_space == "dose_mg_per_week"
        assert explained.prediction_kind == "value"
        assert explained.prediction == attribution.output_value
        assert attribution.output_value == IWPC_PHARMACOGENETIC.predict(x)[0]
        assert attribution.base_value == pytest.approx(background_dose.mean(), rel=1e-12)
        assert list(attribution.contributions) == list(FEATURES)
        check = check_additivity(attribution, float32=False)
        assert check.faithful, check
        total = math.fsum([attribution.base_value, *attribution.contributions.values()])
        assert total == pytest.approx(explained.prediction, rel=1e-12)


def test_equal_to_shap_exact_explainer_over_the_same_background(twin: DemoTwin) -> None:
    background = twin.background[:12]
    ours = SquaredLinearDoseExplainer(IWPC_PHARMACOGENETIC, FEATURES, background)
    masker = shap.maskers.Independent(background, max_samples=background.shape[0])
    reference = shap.ExactExplainer(IWPC_PHARMACOGENETIC.predict, masker)
    X = rows(twin, 6)
    expected = reference(X, silent=True)
    for i, x in enumerate(X):
        attribution = ours.explain(x).attribution
        assert attribution.base_value == pytest.approx(float(expected.base_values[i]), rel=1e-10)
        np.testing.assert_allclose(
            list(attribution.contributions.values()), expected.values[i], rtol=1e-8, atol=1e-9
        )


def test_a_dose_lowering_genotype_contributes_negatively(
    twin: DemoTwin, explainer: SquaredLinearDoseExplainer
) -> None:
    x = rows(twin, 1)[0].copy()
    x[FEATURES.index("vkorc1")] = 2.0  # A/A: the largest dose reduction of VKORC1
    x[FEATURES.index("cyp2c9")] = 0.0  # *1/*1: the reference
    contributions = explainer.explain(x).attribution.contributions
    assert contributions["vkorc1"] < -5.0  # mg/week below the background's mean
    assert contributions["cyp2c9"] > 0.0  # no variant: above the background's mean


def test_the_sqrt_scale_detail_is_additive_on_its_own_scale(
    twin: DemoTwin, explainer: SquaredLinearDoseExplainer
) -> None:
    x = rows(twin, 1)[0]
    detail = explainer.sqrt_scale(x)
    assert detail.output_space == "sqrt_dose"
    assert detail.output_value == pytest.approx(IWPC_PHARMACOGENETIC.sqrt_dose(x)[0], rel=1e-12)
    assert check_additivity(detail, float32=False).faithful


def test_the_dossier_checks_pass_over_the_evaluation_set(
    twin: DemoTwin, explainer: SquaredLinearDoseExplainer
) -> None:
    checks = check_explanations(
        explainer,
        twin.evaluation.loc[:, list(FEATURES)].to_numpy(),
        max_rows=1000,
        stability_rows=5,
        seed=1,
        rebuild=lambda: build_explainer(
            TwinKind.IWPC_WARFARIN, twin.model, FEATURES, twin.background
        ),
    )
    assert checks.additive and checks.stable and checks.rows_checked == 1000
    assert checks.output_space == "dose_mg_per_week"
    assert set(checks.importance) == set(FEATURES)
    assert next(iter(checks.importance)) == "vkorc1"  # the largest mean |phi| in mg/week
    assert background_rows_used(TwinKind.IWPC_WARFARIN, 100) == 100


def test_wrong_model_background_or_row_is_refused(
    twin: DemoTwin, explainer: SquaredLinearDoseExplainer
) -> None:
    with pytest.raises(ModelMismatchError, match="squared-linear dose model"):
        build_explainer(TwinKind.IWPC_WARFARIN, object(), FEATURES, twin.background)
    with pytest.raises(ModelMismatchError, match="differ from inputs"):
        SquaredLinearDoseExplainer(IWPC_PHARMACOGENETIC, FEATURES[::-1], twin.background)
    bad = twin.background.copy()
    bad[0, FEATURES.index("cyp2c9")] = 9.0
    with pytest.raises(ModelMismatchError, match="cyp2c9 must be a code"):
        SquaredLinearDoseExplainer(IWPC_PHARMACOGENETIC, FEATURES, bad)
    x = rows(twin, 1)[0].copy()
    x[FEATURES.index("race")] = 7.0
    with pytest.raises(InvalidRowError, match="race must be a code"):
        explainer.explain(x)
