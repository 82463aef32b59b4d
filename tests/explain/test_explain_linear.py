"""Linear explainers reproduce shap.LinearExplainer; Cox reports risk and survival."""

from __future__ import annotations

import numpy as np
import pytest
import shap
from explain_models import NAMES, Trained

from explain import (
    CoxExplainer,
    LogisticRegressionExplainer,
    ModelMismatchError,
    UnsupportedKind,
    build_explainer,
)
from models.cox import CoxLinearModel

ROWS = 20


def _full(background: np.ndarray) -> shap.maskers.Independent:
    """The masker our explainers use: every background row (shap would keep only 100)."""
    return shap.maskers.Independent(background, max_samples=background.shape[0])


def test_logistic_equals_shap_linear_explainer(logistic: Trained) -> None:
    explainer = build_explainer(logistic.kind, logistic.model, NAMES, logistic.background)
    reference = shap.LinearExplainer(logistic.model, _full(logistic.background))
    expected = reference.shap_values(logistic.rows[:ROWS])
    for i, row in enumerate(logistic.rows[:ROWS]):
        explained = explainer.explain(row)
        a = explained.attribution
        np.testing.assert_array_equal(list(a.contributions.values()), expected[i])
        assert a.base_value == float(reference.expected_value)
        assert a.output_space == "log_odds"
        assert a.output_value == logistic.model.decision_function(row[None])[0]
        assert explained.prediction == pytest.approx(
            logistic.model.predict_proba(row[None])[0, 1], abs=1e-12
        )
        assert explained.prediction_kind == "probability"


def test_cox_equals_shap_linear_explainer_on_linear_predictor(cox: Trained) -> None:
    model: CoxLinearModel = cox.model
    explainer = build_explainer(cox.kind, model, NAMES, cox.background)
    reference = shap.LinearExplainer((model.coefficients, 0.0), _full(cox.background))
    expected = reference.shap_values(cox.rows[:ROWS])
    for i, row in enumerate(cox.rows[:ROWS]):
        explained = explainer.explain(row)
        a = explained.attribution
        np.testing.assert_array_equal(list(a.contributions.values()), expected[i])
        assert a.base_value == float(reference.expected_value)
        assert a.output_space == "log_partial_hazard"
        assert a.output_value == model.linear_predictor(row)[0]
        assert explained.prediction == a.output_value
        assert explained.prediction_kind == "risk_score"
        assert explained.survival_probability == model.survival_at_horizon(row)[0]
        assert explained.horizon == 365.0


def test_base_value_is_output_at_mean_of_the_whole_background(
    cox: Trained, logistic: Trained
) -> None:
    assert len(cox.background) > 100  # more than shap's default masker would keep
    mean = cox.background.mean(axis=0)
    base = CoxExplainer(cox.model, NAMES, cox.background).explain(cox.rows[0]).attribution
    assert base.base_value == pytest.approx(float(mean @ cox.model.coefficients), abs=1e-12)
    lr = LogisticRegressionExplainer(logistic.model, NAMES, logistic.background)
    expected = logistic.model.decision_function(logistic.background.mean(axis=0)[None])[0]
    assert lr.explain(logistic.rows[0]).attribution.base_value == pytest.approx(expected, abs=1e-12)


def test_cox_feature_names_must_match_model(cox: Trained) -> None:
    with pytest.raises(ModelMismatchError):
        CoxExplainer(cox.model, tuple(reversed(NAMES)), cox.background)


def test_linear_background_shape_checked(logistic: Trained) -> None:
    with pytest.raises(ModelMismatchError):
        LogisticRegressionExplainer(logistic.model, NAMES, logistic.background[:, :3])
    with pytest.raises(ModelMismatchError):
        LogisticRegressionExplainer(logistic.model, NAMES, np.empty((0, len(NAMES))))


def test_multiclass_logistic_refused() -> None:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    x, y = make_classification(
        n_samples=150, n_features=len(NAMES), n_informative=4, n_classes=3, random_state=4
    )
    model = LogisticRegression(max_iter=500).fit(x, y)
    with pytest.raises(UnsupportedKind):
        LogisticRegressionExplainer(model, NAMES, x)
