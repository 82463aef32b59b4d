"""The logistic regression's range by the delta method, held to statsmodels' GLM."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

from models import datasets
from models.demo_twins import WHAS500_SPECS, DemoTwin
from models.errors import ArtifactFormatError
from models.uncertainty import LogisticCovariance
from models.uncertainty.logistic import ridge_of

NAMES = [s.name for s in WHAS500_SPECS]


@pytest.fixture(scope="module")
def whas500() -> tuple[np.ndarray, np.ndarray]:
    data = datasets.load_whas500()
    return data[NAMES].to_numpy(dtype=np.float64), data["event"].to_numpy(dtype=np.int64)


def test_an_unpenalised_fit_gives_statsmodels_covariance_and_interval(
    whas500: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = whas500
    fit = LogisticRegression(C=np.inf, max_iter=100_000, tol=1e-10).fit(X, y)
    ours = LogisticCovariance.of_fit(fit, X)
    glm = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-12)
    np.testing.assert_allclose(ours.coefficients, glm.params, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.covariance, glm.cov_params(), rtol=1e-3, atol=1e-10)
    rows = X[::50]
    theirs = glm.get_prediction(sm.add_constant(rows, has_constant="add")).conf_int(alpha=0.1)
    for row, (low, high) in zip(rows, theirs, strict=True):
        found = ours.range_for(row, 0.0)
        assert found.quantity == "probability" and found.meaning == "estimate"
        assert found.low == pytest.approx(low, rel=1e-3, abs=1e-6)
        assert found.high == pytest.approx(high, rel=1e-3, abs=1e-6)


def test_the_ridge_penalty_is_the_one_scikit_learn_fitted(
    whas500: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = whas500
    assert ridge_of(LogisticRegression(C=0.5)) == 2.0
    assert ridge_of(LogisticRegression(C=np.inf)) == 0.0
    with pytest.raises(ArtifactFormatError, match="L2-penalised or unpenalised"):
        ridge_of(LogisticRegression(C=1.0, l1_ratio=1.0, solver="saga"))
    # a stronger penalty: a smaller covariance of the coefficients (the prior adds information)
    weak = LogisticCovariance.of_fit(LogisticRegression(C=100, max_iter=10_000).fit(X, y), X)
    strong = LogisticCovariance.of_fit(LogisticRegression(C=0.001, max_iter=10_000).fit(X, y), X)
    assert np.all(np.diag(strong.covariance)[1:] < np.diag(weak.covariance)[1:])


def test_the_demo_twin_range_holds_its_point_and_belongs_to_its_model(
    demo_twins: list[DemoTwin],
) -> None:
    twin = next(t for t in demo_twins if t.name == "whas500-mortality-logit")
    covariance = twin.uncertainty
    assert isinstance(covariance, LogisticCovariance)
    X = twin.evaluation[NAMES].to_numpy(dtype=np.float64)
    points = twin.model.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
    for row, point in zip(X, points, strict=True):
        found = covariance.range_for(row, point)
        assert found.low < point < found.high
    covariance.check_matches(twin.model)
    other = LogisticRegression(C=0.01, max_iter=10_000).fit(X, twin.evaluation["y"])
    with pytest.raises(ArtifactFormatError, match="other coefficients"):
        covariance.check_matches(other)
    copy = LogisticCovariance.from_dict(covariance.to_dict())
    assert copy.range_for(X[0], 0.0) == covariance.range_for(X[0], 0.0)


def test_a_malformed_covariance_is_refused() -> None:
    with pytest.raises(ArtifactFormatError, match="finite 3x3"):
        LogisticCovariance(np.zeros(3), np.eye(2), 10)
    with pytest.raises(ArtifactFormatError, match="symmetric"):
        LogisticCovariance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), 10)
    with pytest.raises(ArtifactFormatError, match="malformed"):
        LogisticCovariance.from_dict({"coefficients": [0.0]})
