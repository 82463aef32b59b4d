"""The arm's global explanation: exact, additive, and equal to shap's exact explainer with
an independent masker on the same game."""

from __future__ import annotations

import numpy as np
import pytest
import shap

from models.trials import CohortPrior, Regimen, draw, explain_arm, simulate_arm
from models.trials.cohort import VirtualCohort
from models.trials.explain import PLAYERS, player_matrix, shapley_sample

REGIMEN = Regimen(12, 1, 6, dose_mg_per_kg=15)
COHORT = draw(CohortPrior(size=2_000, seed=4))


def _auc(rows: np.ndarray) -> np.ndarray:
    """AUC24 of patients given as player rows (no dialysis)."""
    cohort = VirtualCohort(
        weight_kg=np.ascontiguousarray(rows[:, 1]),
        creatinine_clearance=np.ascontiguousarray(rows[:, 0]),
        dialysis=np.zeros(rows.shape[0], dtype=bool),
        eta=np.ascontiguousarray(rows[:, 2:]),
        source={},
    )
    result: np.ndarray = simulate_arm(cohort, REGIMEN)[:, 0]
    return result


def test_values_add_up_to_each_patients_output_and_equal_shaps_exact_explainer() -> None:
    players = player_matrix(COHORT)
    explained, background = players[:6], players[100:130]
    base, phi = shapley_sample(REGIMEN, "auc24", explained, background, np.zeros(6, dtype=bool))
    np.testing.assert_allclose(base + phi.sum(axis=1), _auc(explained), rtol=1e-10)
    np.testing.assert_allclose(base, _auc(background).mean(), rtol=1e-12)
    masker = shap.maskers.Independent(background, max_samples=background.shape[0])
    expected = shap.explainers.Exact(_auc, masker)(explained)
    np.testing.assert_allclose(phi, expected.values, rtol=1e-8, atol=1e-8)


def test_the_global_explanation_is_seeded_and_ranks_what_drives_exposure() -> None:
    first = explain_arm(COHORT, REGIMEN, "auc24", sample_size=40, background_size=20, seed=3)
    again = explain_arm(COHORT, REGIMEN, "auc24", sample_size=40, background_size=20, seed=3)
    assert first == again
    assert [name for name, _ in first.mean_abs] == list(PLAYERS)
    importance = dict(first.mean_abs)
    # AUC = dose / CL: clearance's covariate and deviation matter, V2 barely does
    assert importance["eta_CL"] > importance["eta_V2"]
    assert importance["creatinine_clearance"] > importance["eta_V2"]
    assert all(v >= 0.0 for v in importance.values())
    other = explain_arm(COHORT, REGIMEN, "auc24", sample_size=40, background_size=20, seed=4)
    assert other != first


def test_sizes_beyond_the_caps_are_refused() -> None:
    from models.trials import TrialInputError

    with pytest.raises(TrialInputError):
        explain_arm(COHORT, REGIMEN, "auc24", sample_size=0)
    with pytest.raises(TrialInputError):
        explain_arm(COHORT, REGIMEN, "cmax")
