"""Safe save/load round trips per twin kind, and refusal of anything unexpected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from models.card import TwinKind
from models.cox import CoxLinearModel
from models.errors import ArtifactFormatError
from models.formats import load_model, model_filename, save_model

RNG = np.random.default_rng(7)
X = RNG.normal(size=(120, 4))
Y_CLASS = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
Y_VALUE = 2.0 * X[:, 0] - X[:, 2]


def _xgb_classifier() -> xgb.XGBClassifier:
    return xgb.XGBClassifier(n_estimators=10, max_depth=2, n_jobs=1).fit(X, Y_CLASS)


def _xgb_regressor() -> xgb.XGBRegressor:
    return xgb.XGBRegressor(n_estimators=10, max_depth=2, n_jobs=1).fit(X, Y_VALUE)


@pytest.mark.parametrize("kind", [TwinKind.XGBOOST_CLASSIFIER, TwinKind.XGBOOST_REGRESSOR])
def test_xgboost_round_trip_as_booster(kind: TwinKind, tmp_path: Path) -> None:
    fitted = _xgb_classifier() if kind is TwinKind.XGBOOST_CLASSIFIER else _xgb_regressor()
    written = save_model(kind, fitted.get_booster(), tmp_path)
    assert [p.name for p in written] == ["model.ubj"]
    booster = load_model(kind, tmp_path)
    assert isinstance(booster, xgb.Booster)
    margin = booster.inplace_predict(X[:1], predict_type="margin")
    np.testing.assert_allclose(margin, fitted.predict(X[:1], output_margin=True), rtol=1e-6)


def test_xgboost_sklearn_wrapper_is_stored_as_its_booster(tmp_path: Path) -> None:
    fitted = _xgb_classifier()
    save_model(TwinKind.XGBOOST_CLASSIFIER, fitted, tmp_path)
    assert isinstance(load_model(TwinKind.XGBOOST_CLASSIFIER, tmp_path), xgb.Booster)


@pytest.mark.parametrize(
    ("kind", "estimator", "target"),
    [
        (TwinKind.LOGISTIC_REGRESSION, LogisticRegression(), Y_CLASS),
        (TwinKind.RANDOM_FOREST_CLASSIFIER, RandomForestClassifier(5, max_depth=3), Y_CLASS),
        (TwinKind.RANDOM_FOREST_REGRESSOR, RandomForestRegressor(5, max_depth=3), Y_VALUE),
    ],
)
def test_sklearn_round_trip(kind: TwinKind, estimator, target, tmp_path: Path) -> None:
    fitted = estimator.fit(X, target)
    written = save_model(kind, fitted, tmp_path)
    assert [p.name for p in written] == ["model.skops"]
    loaded = load_model(kind, tmp_path)
    assert type(loaded) is type(fitted)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_cox_round_trip(tmp_path: Path) -> None:
    model = CoxLinearModel(("a", "b"), np.array([0.1, -0.2]), 365.0, 0.8)
    save_model(TwinKind.COX_PH, model, tmp_path)
    loaded = load_model(TwinKind.COX_PH, tmp_path)
    assert isinstance(loaded, CoxLinearModel)
    np.testing.assert_array_equal(
        loaded.survival_at_horizon(X[:3, :2]), model.survival_at_horizon(X[:3, :2])
    )


def test_wrong_model_type_is_refused_on_save(tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError):
        save_model(TwinKind.COX_PH, LogisticRegression(), tmp_path)
    with pytest.raises(ArtifactFormatError):
        save_model(TwinKind.LOGISTIC_REGRESSION, RandomForestClassifier(), tmp_path)
    with pytest.raises(ArtifactFormatError):
        save_model(TwinKind.XGBOOST_CLASSIFIER, LogisticRegression(), tmp_path)


def test_skops_type_outside_allow_list_is_refused(tmp_path: Path) -> None:
    smuggler = LogisticRegression().fit(X, Y_CLASS)
    smuggler.extra_ = DecisionTreeClassifier(max_depth=2).fit(X, Y_CLASS)  # holds a Tree
    sio.dump(smuggler, tmp_path / model_filename(TwinKind.LOGISTIC_REGRESSION))
    with pytest.raises(ArtifactFormatError, match="untrusted"):
        load_model(TwinKind.LOGISTIC_REGRESSION, tmp_path)


def test_skops_function_reference_is_refused(tmp_path: Path) -> None:
    import os

    smuggler = LogisticRegression().fit(X, Y_CLASS)
    smuggler.hook_ = os.system
    sio.dump(smuggler, tmp_path / model_filename(TwinKind.LOGISTIC_REGRESSION))
    with pytest.raises(ArtifactFormatError, match="untrusted"):
        load_model(TwinKind.LOGISTIC_REGRESSION, tmp_path)


def test_skops_file_of_another_estimator_is_refused(tmp_path: Path) -> None:
    forest = RandomForestRegressor(3, max_depth=2).fit(X, Y_VALUE)
    save_model(TwinKind.RANDOM_FOREST_REGRESSOR, forest, tmp_path)
    with pytest.raises(ArtifactFormatError, match="expected RandomForestClassifier"):
        load_model(TwinKind.RANDOM_FOREST_CLASSIFIER, tmp_path)


@pytest.mark.parametrize("kind", list(TwinKind))
def test_missing_or_garbled_file_is_refused(kind: TwinKind, tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError, match="missing"):
        load_model(kind, tmp_path)
    (tmp_path / model_filename(kind)).write_bytes(b"\x00garbage{")
    with pytest.raises(ArtifactFormatError):
        load_model(kind, tmp_path)
