"""The forest's range of the outcome: split-conformal on out-of-bag residuals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor

from models.demo_twins import DIABETES_SPECS, DemoTwin
from models.errors import ArtifactFormatError
from models.uncertainty import ResidualRange
from models.uncertainty.residuals import conformal_half_width, out_of_bag_predictions

NAMES = [s.name for s in DIABETES_SPECS]


def test_the_conformal_rank_is_ceil_n_plus_one_times_level() -> None:
    assert conformal_half_width(np.arange(1.0, 10.0)) == 9.0  # n 9: rank ceil(9.0) = 9
    assert conformal_half_width(np.arange(1.0, 11.0)) == 10.0  # n 10: ceil(9.9), not ceil(9.0)
    assert conformal_half_width(-np.arange(1.0, 20.0)) == 18.0  # n 19: rank 18, |r|
    with pytest.raises(ArtifactFormatError, match="too few"):
        conformal_half_width(np.arange(5.0))  # rank 6 of 5


def test_out_of_bag_predictions_equal_scikit_learns() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 4))
    y = X[:, 0] * 3 + rng.normal(size=150)
    forest = RandomForestRegressor(n_estimators=40, oob_score=True, random_state=0, n_jobs=1).fit(
        X, y
    )
    ours = out_of_bag_predictions(forest, X)
    np.testing.assert_allclose(ours, forest.oob_prediction_, rtol=1e-12)
    with pytest.raises(ArtifactFormatError, match="bootstraps"):
        ResidualRange.of_forest(RandomForestRegressor(bootstrap=False).fit(X, y), X, y)


def test_the_demo_forest_range_holds_90_percent_of_held_out_outcomes(
    demo_twins: list[DemoTwin],
) -> None:
    """The held-out rows were never seen by the forest nor by its residuals: their
    coverage is an honest check (133 rows: 90 % +- 2.6 % standard error; allowed 82-97 %)."""
    twin = next(t for t in demo_twins if t.name == "diabetes-progression")
    found = twin.uncertainty
    assert isinstance(found, ResidualRange) and found.nonnegative
    X = twin.evaluation[NAMES].to_numpy(dtype=np.float64)
    y = twin.evaluation["y"].to_numpy(dtype=np.float64)
    points = twin.model.predict(X)  # type: ignore[attr-defined]
    ranges = [found.range_for(row, p) for row, p in zip(X, points, strict=True)]
    covered = np.mean([r.low <= o <= r.high for r, o in zip(ranges, y, strict=True)])
    assert 0.82 <= covered <= 0.97, covered
    assert all(r.meaning == "outcome" and r.low >= 0 for r in ranges)
    assert ResidualRange.from_dict(found.to_dict()) == found


def test_a_nonnegative_outcome_is_cut_at_zero() -> None:
    assert ResidualRange(10.0, 50, nonnegative=True).range_for([], 4.0).low == 0.0
    assert ResidualRange(10.0, 50).range_for([], 4.0).low == -6.0
    with pytest.raises(ArtifactFormatError, match="half-width"):
        ResidualRange(float("nan"), 50)
