"""The four demo twins: cards consistent with their data, and models that learned something.

Uses the session-wide ``demo_twins`` fixture (trained once for the whole test run).
"""

from __future__ import annotations

import numpy as np
import xgboost as xgb
from sklearn.metrics import r2_score, roc_auc_score
from sksurv.metrics import concordance_index_censored

from models.card import DATA_CATEGORIES, TwinKind
from models.cox import CoxLinearModel
from models.demo_twins import DemoTwin

NAMES = {
    "whas500-mortality": TwinKind.XGBOOST_CLASSIFIER,
    "whas500-mortality-logit": TwinKind.LOGISTIC_REGRESSION,
    "gbsg2-recurrence": TwinKind.COX_PH,
    "diabetes-progression": TwinKind.RANDOM_FOREST_REGRESSOR,
}


def _by_name(twins: list[DemoTwin]) -> dict[str, DemoTwin]:
    return {t.name: t for t in twins}


def test_names_and_kinds(demo_twins: list[DemoTwin]) -> None:
    assert {t.name: t.card.kind for t in demo_twins} == NAMES


def test_cards_match_data(demo_twins: list[DemoTwin]) -> None:
    for twin in demo_twins:
        card, names = twin.card, list(twin.card.feature_names)
        assert set(card.data_categories) <= DATA_CATEGORIES
        assert set(card.sensitive_attributes) <= set(names)
        assert set(card.envelope) == set(names)
        assert twin.background.shape == (min(100, twin.background.shape[0]), len(names))
        assert twin.background.dtype == np.float64
        outcome = ["time", "event"] if card.kind is TwinKind.COX_PH else ["y"]
        assert list(twin.evaluation.columns) == names + outcome
        for spec in card.features:
            low, high = card.envelope[spec.name]
            assert spec.minimum <= low <= high <= spec.maximum, spec.name
            column = twin.evaluation[spec.name]
            assert column.between(spec.minimum, spec.maximum).all(), spec.name
            if spec.dtype == "binary":
                assert set(column.unique()) <= {0.0, 1.0}


def test_models_learned_something(demo_twins: list[DemoTwin]) -> None:
    twins = _by_name(demo_twins)
    whas = twins["whas500-mortality"]
    x = whas.evaluation[list(whas.card.feature_names)].to_numpy()
    y = whas.evaluation["y"].to_numpy()
    booster = whas.model
    assert isinstance(booster, xgb.Booster)
    assert roc_auc_score(y, booster.inplace_predict(x, predict_type="margin")) > 0.7
    logit = twins["whas500-mortality-logit"].model
    assert roc_auc_score(y, logit.decision_function(x)) > 0.7

    gbsg = twins["gbsg2-recurrence"]
    cox = gbsg.model
    assert isinstance(cox, CoxLinearModel)
    ev = gbsg.evaluation
    risk = cox.linear_predictor(ev[list(gbsg.card.feature_names)].to_numpy())
    c_index = concordance_index_censored(ev["event"] == 1, ev["time"], risk)[0]
    assert c_index > 0.6
    assert gbsg.card.horizon == 1826.0

    diabetes = twins["diabetes-progression"]
    xd = diabetes.evaluation[list(diabetes.card.feature_names)].to_numpy()
    assert r2_score(diabetes.evaluation["y"], diabetes.model.predict(xd)) > 0.25
