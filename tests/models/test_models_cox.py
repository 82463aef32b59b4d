"""CoxLinearModel against scikit-survival's CoxPHSurvivalAnalysis (GPL-3.0: only the tests
use it, to pin that our own fit, which the server runs, is the same estimator)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

from models.cox import CoxLinearModel
from models.datasets import GBSG2_FEATURES, WHAS500_FEATURES, load_gbsg2, load_whas500
from models.demo_twins import _split
from models.errors import ArtifactFormatError

HORIZON = 1826.0


@pytest.fixture(scope="module")
def gbsg2() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = load_gbsg2()
    x = data[list(GBSG2_FEATURES)].to_numpy()
    return x, data["time"].to_numpy(), data["event"].to_numpy().astype(bool)


def _reference(x: np.ndarray, time: np.ndarray, event: np.ndarray, alpha: float) -> Any:
    return CoxPHSurvivalAnalysis(alpha=alpha, ties="breslow").fit(
        x, Surv.from_arrays(event=event, time=time)
    )


def _assert_matches_sksurv(
    x: np.ndarray, time: np.ndarray, event: np.ndarray, horizon: float, alpha: float
) -> None:
    """Our fit (no scikit-survival at run time) equals scikit-survival's, tightly: the
    same estimator, computed in another order of floating-point operations."""
    model = CoxLinearModel.fit(
        x, time, event, tuple(f"f{i}" for i in range(x.shape[1])), horizon, alpha=alpha
    )
    reference = _reference(x, time, event, alpha)
    np.testing.assert_allclose(model.coefficients, reference.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        model.linear_predictor(x), reference.predict(x), rtol=1e-9, atol=1e-11
    )
    expected = np.array([fn(horizon) for fn in reference.predict_survival_function(x)])
    np.testing.assert_allclose(model.survival_at_horizon(x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("alpha", [1e-4, 0.0, 0.5])
@pytest.mark.parametrize(
    ("load", "features", "horizon"),
    [(load_gbsg2, GBSG2_FEATURES, HORIZON), (load_whas500, WHAS500_FEATURES, 365.0)],
    ids=["gbsg2", "whas500"],
)
def test_the_fit_equals_sksurvs_on_the_demo_data(
    load: Any, features: tuple[str, ...], horizon: float, alpha: float
) -> None:
    data = load()
    x = data[list(features)].to_numpy()
    _assert_matches_sksurv(
        x, data["time"].to_numpy(), data["event"].to_numpy().astype(bool), horizon, alpha
    )


@pytest.mark.parametrize("seed", range(12))
def test_the_fit_equals_sksurvs_with_tied_times_and_censoring(seed: int) -> None:
    """Tied event and censoring times (Breslow), heavy censoring, unscaled features,
    one binary feature, small and larger samples."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 400))
    x = np.column_stack([rng.normal(50, 10, n), rng.integers(0, 2, n), rng.exponential(1.0, n)])
    risk = 0.03 * (x[:, 0] - 50) + 0.5 * x[:, 1] - 0.3 * x[:, 2]
    time = np.ceil(rng.exponential(200.0 * np.exp(-risk)) / 30.0) * 30.0  # monthly ties
    censor = np.ceil(rng.uniform(30.0, 900.0, n) / 30.0) * 30.0
    event = time <= censor
    observed = np.minimum(time, censor)
    horizon = float(np.quantile(observed, 0.5))
    _assert_matches_sksurv(x, observed, event, horizon, alpha=float(rng.choice([0.0, 1e-4])))


def test_the_demo_cox_twin_equals_sksurvs(demo_twins: list[Any]) -> None:
    """The registered demo twin (gbsg2-recurrence) keeps its figures: its coefficients and
    baseline are scikit-survival's fit on its training rows, within 1e-9."""
    twin = next(t for t in demo_twins if t.name == "gbsg2-recurrence")
    data = load_gbsg2()
    train_idx, _ = _split(len(data), data["event"].to_numpy(dtype=np.int64))
    assert len(train_idx) == int(twin.card.extra["train_rows"])
    train = data.iloc[train_idx]
    names = list(twin.card.feature_names)
    x = train[names].to_numpy(dtype=np.float64)
    time, event = train["time"].to_numpy(), train["event"].to_numpy(dtype=bool)
    reference = _reference(x, time, event, 1e-4)
    np.testing.assert_allclose(twin.model.coefficients, reference.coef_, rtol=1e-9)
    zero = np.zeros((1, len(names)))
    s0 = reference.predict_survival_function(zero)[0](twin.card.horizon)
    assert twin.model.baseline_survival_at_horizon == pytest.approx(s0, rel=1e-10)


def test_a_fit_without_events_or_with_too_few_records_is_refused() -> None:
    x = np.arange(10.0).reshape(5, 2)
    with pytest.raises(ValueError, match="censored"):
        CoxLinearModel.fit(x, np.arange(1.0, 6.0), np.zeros(5, bool), ("a", "b"), 3.0)
    with pytest.raises(ValueError, match="two records"):
        CoxLinearModel.fit(x[:1], np.ones(1), np.ones(1, bool), ("a", "b"), 1.0)
    with pytest.raises(ValueError, match="finite"):
        CoxLinearModel.fit(x * np.nan, np.arange(1.0, 6.0), np.ones(5, bool), ("a", "b"), 3.0)


def test_single_row_and_shape_check(gbsg2) -> None:
    x, time, event = gbsg2
    model = CoxLinearModel.fit(x, time, event, GBSG2_FEATURES, HORIZON)
    assert model.linear_predictor(x[0]).shape == (1,)
    with pytest.raises(ValueError, match="features"):
        model.linear_predictor(x[:, :3])


def test_json_round_trip_is_exact(gbsg2) -> None:
    x, time, event = gbsg2
    model = CoxLinearModel.fit(x, time, event, GBSG2_FEATURES, HORIZON)
    back = CoxLinearModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert back.feature_names == model.feature_names
    assert np.array_equal(back.coefficients, model.coefficients)
    assert back.baseline_survival_at_horizon == model.baseline_survival_at_horizon
    assert np.array_equal(back.survival_at_horizon(x), model.survival_at_horizon(x))


def test_coefficients_are_read_only() -> None:
    model = CoxLinearModel(("a",), np.array([0.5]), 10.0, 0.9)
    with pytest.raises(ValueError):
        model.coefficients[0] = 1.0


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"format": "other"},
        {
            "format": "twinreg.cox_linear/1",
            "feature_names": ["a"],
            "coefficients": [1, 2],
            "horizon": 1,
            "baseline_survival_at_horizon": 0.5,
        },
        {
            "format": "twinreg.cox_linear/1",
            "feature_names": ["a"],
            "coefficients": [1],
            "horizon": 1,
            "baseline_survival_at_horizon": 1.5,
        },
        {
            "format": "twinreg.cox_linear/1",
            "feature_names": ["a"],
            "coefficients": ["nan"],
            "horizon": 1,
            "baseline_survival_at_horizon": 0.5,
        },
        {"format": "twinreg.cox_linear/1", "feature_names": ["a"], "coefficients": [1]},
    ],
)
def test_malformed_payload_is_refused(payload: dict) -> None:
    with pytest.raises(ArtifactFormatError):
        CoxLinearModel.from_dict(payload)
