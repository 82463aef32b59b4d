"""CoxLinearModel against scikit-survival's CoxPHSurvivalAnalysis."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

from models.cox import CoxLinearModel
from models.datasets import GBSG2_FEATURES, load_gbsg2
from models.errors import ArtifactFormatError

HORIZON = 1826.0


@pytest.fixture(scope="module")
def gbsg2() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = load_gbsg2()
    x = data[list(GBSG2_FEATURES)].to_numpy()
    return x, data["time"].to_numpy(), data["event"].to_numpy().astype(bool)


def test_matches_sksurv_linear_predictor_and_survival(gbsg2) -> None:
    x, time, event = gbsg2
    alpha = 1e-4
    model = CoxLinearModel.fit(x, time, event, GBSG2_FEATURES, HORIZON, alpha=alpha)
    reference = CoxPHSurvivalAnalysis(alpha=alpha, ties="breslow").fit(
        x, Surv.from_arrays(event=event, time=time)
    )
    np.testing.assert_allclose(model.coefficients, reference.coef_, rtol=1e-12)
    np.testing.assert_allclose(reference.predict(x), x @ reference.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.linear_predictor(x), reference.predict(x), rtol=1e-10)
    expected = np.array([fn(HORIZON) for fn in reference.predict_survival_function(x)])
    np.testing.assert_allclose(model.survival_at_horizon(x), expected, rtol=1e-9, atol=1e-12)


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
