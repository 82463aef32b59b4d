"""The XGBoost twin's bootstrap refits: the registered hyperparameters refitted on
resamples, each patient's range the central 90 % of the refits' estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from models.demo_twins import WHAS500_SPECS, DemoTwin
from models.errors import ArtifactFormatError
from models.uncertainty import BoosterBootstrap
from models.uncertainty.patient_range import percentile_range

NAMES = [s.name for s in WHAS500_SPECS]


def _twin(demo_twins: list[DemoTwin]) -> tuple[DemoTwin, xgb.Booster, BoosterBootstrap]:
    twin = next(t for t in demo_twins if t.name == "whas500-mortality")
    assert isinstance(twin.model, xgb.Booster)
    assert isinstance(twin.uncertainty, BoosterBootstrap)
    return twin, twin.model, twin.uncertainty


def test_the_range_is_the_refits_central_90_percent(demo_twins: list[DemoTwin]) -> None:
    twin, model, refits = _twin(demo_twins)
    assert len(refits.boosters) == 50 and refits.classifier
    X = twin.evaluation[NAMES].to_numpy(dtype=np.float64)
    points = 1 / (1 + np.exp(-model.inplace_predict(X.astype(np.float32), predict_type="margin")))
    inside = 0
    for row, point in zip(X, points, strict=True):
        estimates = refits.estimates(row)
        assert estimates.shape == (50,) and np.all((estimates > 0) & (estimates < 1))
        found = refits.range_for(row, float(point))
        assert (found.low, found.high) == percentile_range(estimates)
        assert found.quantity == "probability" and found.meaning == "estimate"
        inside += found.low <= point <= found.high
    # a percentile interval need not hold the full-data fit, but nearly always does
    assert inside >= 0.9 * len(points)


def test_refits_keep_the_registered_hyperparameters_and_vary_with_the_sample() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.5, size=200)
    estimator = xgb.XGBRegressor(n_estimators=20, max_depth=2, learning_rate=0.3, n_jobs=1)
    refits = BoosterBootstrap.fit(estimator.fit(X, y), X, y, refits=25, seed=1)
    assert not refits.classifier and len(refits.boosters) == 25
    assert all(len(b.get_dump()) == 20 for b in refits.boosters)
    spread = refits.estimates(np.zeros(3))
    assert spread.std() > 0  # each refit saw its own resample
    again = BoosterBootstrap.fit(estimator, X, y, refits=25, seed=1)
    np.testing.assert_array_equal(again.estimates(np.zeros(3)), spread)  # reproducible
    found = refits.range_for(np.zeros(3), 0.0)
    assert found.quantity == "value" and found.low < found.high


def test_too_few_refits_or_another_model_are_refused(demo_twins: list[DemoTwin]) -> None:
    _, model, refits = _twin(demo_twins)
    with pytest.raises(ArtifactFormatError, match="at least 20"):
        BoosterBootstrap(refits.boosters[:5], True, 10)
    refits.check_matches(model)
    with pytest.raises(ArtifactFormatError, match="another number of features"):
        refits.check_matches(
            xgb.XGBRegressor(n_estimators=2).fit(np.ones((4, 2)), np.arange(4)).get_booster()
        )


def test_the_packed_refits_give_xgboosts_own_margins(demo_twins: list[DemoTwin]) -> None:
    """Every refit's margin from the packed trees equals XGBoost's ``inplace_predict`` for
    every held-out row (float32 leaves summed in float64: within 1e-5)."""
    twin, _, refits = _twin(demo_twins)
    X = twin.evaluation[NAMES].to_numpy(dtype=np.float64)
    for row in X:
        theirs = [
            float(b.inplace_predict(row.astype(np.float32)[None, :], predict_type="margin")[0])
            for b in refits.boosters
        ]
        np.testing.assert_allclose(refits._packed.margins(row), theirs, rtol=0, atol=1e-5)


def test_packing_sends_a_row_left_below_the_threshold_and_refuses_categories() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]] * 10)
    y = np.array([0.0, 0.0, 10.0, 10.0] * 10)
    model = xgb.XGBRegressor(n_estimators=1, max_depth=1, learning_rate=1.0, n_jobs=1).fit(X, y)
    refits = BoosterBootstrap((model.get_booster(),) * 20, False, 40)
    split = float(model.get_booster().trees_to_dataframe()["Split"].iloc[0])
    for x in (split - 1e-3, split, split + 1e-3, 0.0, 3.0):
        theirs = float(
            model.get_booster().inplace_predict(np.array([[x]]), predict_type="margin")[0]
        )
        assert refits.estimates(np.array([x]))[0] == pytest.approx(theirs, abs=1e-6)
    frame = pd.DataFrame({"c": pd.Categorical(["a", "b", "a", "b"] * 10)})
    categorical = xgb.XGBRegressor(
        n_estimators=1, max_depth=1, enable_categorical=True, tree_method="hist"
    ).fit(frame, np.array([0.0, 10.0] * 20))
    with pytest.raises(ArtifactFormatError, match="categorical"):
        BoosterBootstrap((categorical.get_booster(),) * 20, False, 40)
