"""Tree explainers reproduce shap.TreeExplainer (path-dependent) exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
import xgboost as xgb
from explain_models import NAMES, Trained
from sklearn.datasets import make_classification

from explain import (
    ModelMismatchError,
    UnsupportedKind,
    XGBoostClassifierExplainer,
    XGBoostRegressorExplainer,
    build_explainer,
)
from models import TwinKind

ROWS = 20


@pytest.mark.parametrize("fixture", ["xgb_classifier", "xgb_regressor"])
def test_xgboost_equals_shap_tree_explainer(fixture: str, request: pytest.FixtureRequest) -> None:
    t: Trained = request.getfixturevalue(fixture)
    explainer = build_explainer(t.kind, t.model, NAMES, t.background)
    reference = shap.TreeExplainer(t.model)
    for row in t.rows[:ROWS]:
        ours = explainer.explain(row).attribution
        theirs = reference(row.reshape(1, -1).astype(np.float32))
        phi = np.array(list(ours.contributions.values()))
        np.testing.assert_array_equal(phi, theirs.values[0].astype(np.float64))
        assert ours.base_value == pytest.approx(float(theirs.base_values[0]), abs=1e-6)
        margin = t.model.inplace_predict(row.reshape(1, -1), predict_type="margin")[0]
        assert ours.output_value == pytest.approx(float(margin), abs=1e-6)


def test_xgboost_classifier_prediction_is_probability(xgb_classifier: Trained) -> None:
    explainer = build_explainer(xgb_classifier.kind, xgb_classifier.model, NAMES, np.empty(0))
    row = xgb_classifier.rows[0]
    explained = explainer.explain(row)
    expected = float(xgb_classifier.model.inplace_predict(row.reshape(1, -1))[0])
    assert explained.prediction_kind == "probability"
    assert explained.prediction == pytest.approx(expected, abs=1e-6)
    assert explained.attribution.output_space == "log_odds"
    assert explainer.float32


def test_xgboost_regressor_prediction_is_raw_value(xgb_regressor: Trained) -> None:
    explainer = build_explainer(xgb_regressor.kind, xgb_regressor.model, NAMES, np.empty(0))
    explained = explainer.explain(xgb_regressor.rows[3])
    assert explained.prediction_kind == "value"
    assert explained.prediction == explained.attribution.output_value
    assert explained.attribution.output_space == "raw"


def test_xgboost_sklearn_wrapper_and_named_booster_accepted() -> None:
    x, y = make_classification(n_samples=120, n_features=len(NAMES), random_state=5)
    wrapper = xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(pd.DataFrame(x, columns=NAMES), y)
    assert wrapper.get_booster().feature_names == list(NAMES)
    explained = build_explainer(TwinKind.XGBOOST_CLASSIFIER, wrapper, NAMES, x).explain(x[0])
    assert list(explained.attribution.contributions) == list(NAMES)
    with pytest.raises(ModelMismatchError):
        XGBoostClassifierExplainer(wrapper.get_booster(), tuple(reversed(NAMES)))


def test_xgboost_wrong_objective_refused(xgb_regressor: Trained, xgb_classifier: Trained) -> None:
    with pytest.raises(UnsupportedKind):
        XGBoostClassifierExplainer(xgb_regressor.model, NAMES)
    with pytest.raises(UnsupportedKind):
        XGBoostRegressorExplainer(xgb_classifier.model, NAMES)


def test_xgboost_multiclass_refused() -> None:
    x, y = make_classification(
        n_samples=150, n_features=len(NAMES), n_informative=4, n_classes=3, random_state=2
    )
    booster = xgb.XGBClassifier(n_estimators=5).fit(x, y).get_booster()
    with pytest.raises(UnsupportedKind):
        XGBoostClassifierExplainer(booster, NAMES)


def test_random_forest_regressor_equals_shap(rf_regressor: Trained) -> None:
    explainer = build_explainer(rf_regressor.kind, rf_regressor.model, NAMES, rf_regressor.rows)
    reference = shap.TreeExplainer(rf_regressor.model)
    expected = reference.shap_values(rf_regressor.rows[:ROWS], check_additivity=False)
    for i, row in enumerate(rf_regressor.rows[:ROWS]):
        ours = explainer.explain(row)
        np.testing.assert_array_equal(list(ours.attribution.contributions.values()), expected[i])
        assert ours.attribution.base_value == float(np.ravel(reference.expected_value)[0])
        assert ours.prediction == pytest.approx(rf_regressor.model.predict(row[None])[0], abs=0)


def test_random_forest_classifier_equals_shap(rf_classifier: Trained) -> None:
    explainer = build_explainer(rf_classifier.kind, rf_classifier.model, NAMES, rf_classifier.rows)
    reference = shap.TreeExplainer(rf_classifier.model)
    expected = reference.shap_values(rf_classifier.rows[:ROWS], check_additivity=False)
    for i, row in enumerate(rf_classifier.rows[:ROWS]):
        ours = explainer.explain(row)
        np.testing.assert_array_equal(
            list(ours.attribution.contributions.values()), expected[i, :, 1]
        )
        assert ours.attribution.base_value == float(reference.expected_value[1])
        proba = rf_classifier.model.predict_proba(row[None])[0, 1]
        assert ours.prediction == ours.attribution.output_value == proba
        assert ours.attribution.output_space == "probability"
