"""Session fixtures: one small trained model per twin kind."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb
from explain_models import N_FEATURES, NAMES, Trained, classification, regression
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression

from models import TwinKind
from models.cox import CoxLinearModel


@pytest.fixture(scope="session")
def xgb_classifier() -> Trained:
    x, y = classification()
    model = xgb.XGBClassifier(n_estimators=60, max_depth=4, random_state=0).fit(x, y)
    return Trained(TwinKind.XGBOOST_CLASSIFIER, model.get_booster(), x, x[:100])


@pytest.fixture(scope="session")
def xgb_regressor() -> Trained:
    x, y = regression()
    model = xgb.XGBRegressor(n_estimators=60, max_depth=4, random_state=0).fit(x, y)
    return Trained(TwinKind.XGBOOST_REGRESSOR, model.get_booster(), x, x[:100])


@pytest.fixture(scope="session")
def rf_classifier() -> Trained:
    x, y = classification()
    model = RandomForestClassifier(n_estimators=25, max_depth=6, random_state=0).fit(x, y)
    return Trained(TwinKind.RANDOM_FOREST_CLASSIFIER, model, x, x[:100])


@pytest.fixture(scope="session")
def rf_regressor() -> Trained:
    x, y = regression()
    model = RandomForestRegressor(n_estimators=25, max_depth=6, random_state=0).fit(x, y)
    return Trained(TwinKind.RANDOM_FOREST_REGRESSOR, model, x, x[:100])


@pytest.fixture(scope="session")
def logistic() -> Trained:
    x, y = classification()
    model = LogisticRegression(max_iter=1000).fit(x, y)
    return Trained(TwinKind.LOGISTIC_REGRESSION, model, x, x[:150])


@pytest.fixture(scope="session")
def cox() -> Trained:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, N_FEATURES))
    model = CoxLinearModel(
        feature_names=NAMES,
        coefficients=np.array([0.8, -0.5, 0.3, 0.0, 1.2, -0.9]),
        horizon=365.0,
        baseline_survival_at_horizon=0.85,
    )
    return Trained(TwinKind.COX_PH, model, x, x[:150])


ALL_KINDS = ["xgb_classifier", "xgb_regressor", "rf_classifier", "rf_regressor", "logistic", "cox"]


@pytest.fixture(params=ALL_KINDS)
def trained(request: pytest.FixtureRequest) -> Trained:
    result: Trained = request.getfixturevalue(request.param)
    return result
