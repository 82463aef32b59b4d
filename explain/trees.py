"""Explainers for tree ensembles: XGBoost boosters and scikit-learn random forests.

XGBoost attributions come from XGBoost's own C++ TreeSHAP (``pred_contribs``), which is
what ``shap.TreeExplainer(booster)`` returns for the default path-dependent algorithm,
without its wrapper overhead. Random forests go through ``shap.TreeExplainer``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import shap
import xgboost as xgb

from explain._rows import as_row, checked_names, sigmoid
from explain.attribution import Attribution
from explain.errors import ExplainError, ModelMismatchError, UnsupportedKind
from explain.explained import Explained
from models import TwinKind

#: Objectives whose margin is the log-odds of the positive class.
_LOG_ODDS_OBJECTIVES = frozenset({"binary:logistic", "binary:logitraw"})
#: Objectives whose margin is the predicted value itself (identity link).
_IDENTITY_OBJECTIVES = frozenset(
    {"reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "reg:quantileerror"}
)


class _XGBoostExplainer:
    """Shared machinery; the two public subclasses fix the kind."""

    kind: ClassVar[TwinKind]
    _objectives: ClassVar[frozenset[str]]

    def __init__(self, booster: xgb.Booster, feature_names: Sequence[str]) -> None:
        if not isinstance(booster, xgb.Booster):
            raise ModelMismatchError(f"{self.kind.value} needs an xgboost.Booster")
        self._booster = booster
        self._names = checked_names(feature_names, int(booster.num_features()))
        own = booster.feature_names
        if own is not None and tuple(own) != self._names:
            raise ModelMismatchError(f"booster feature names {own} differ from {self._names}")
        # DMatrix feature names only when the booster has them (it validates them).
        self._dmatrix_names: list[str] | None = None if own is None else list(self._names)
        learner = json.loads(booster.save_config())["learner"]
        # The row's DMatrix uses the booster's threads (0: XGBoost's default, all cores).
        self._nthread = int(learner.get("generic_param", {}).get("nthread", "0")) or None
        objective = str(learner["objective"]["name"])
        params = learner["learner_model_param"]
        if objective not in self._objectives:
            raise UnsupportedKind(
                f"{self.kind.value}: objective {objective!r} is not supported "
                f"(expected one of {sorted(self._objectives)})"
            )
        if int(params.get("num_class", "0")) > 1 or int(params.get("num_target", "1")) != 1:
            raise UnsupportedKind(f"{self.kind.value}: only single-output boosters")
        self._n = len(self._names)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def float32(self) -> bool:
        """Whether the model computes in float32, as its kind says (selects the tolerance)."""
        return self.kind.is_float32

    def _attribute(self, row: np.ndarray) -> Attribution:
        x = as_row(row, self._n, np.float32)
        margin = self._booster.inplace_predict(x, predict_type="margin")
        contribs = self._booster.predict(
            xgb.DMatrix(x, feature_names=self._dmatrix_names, nthread=self._nthread),
            pred_contribs=True,
        )
        phi: list[float] = contribs[0].tolist()
        return Attribution(
            output_space=self.kind.output_space,
            base_value=phi[-1],
            output_value=float(margin[0]),
            contributions=dict(zip(self._names, phi[:-1], strict=True)),
        )


class XGBoostClassifierExplainer(_XGBoostExplainer):
    """Binary XGBoost classifier: attributions in log-odds, prediction a probability."""

    kind = TwinKind.XGBOOST_CLASSIFIER
    _objectives = _LOG_ODDS_OBJECTIVES

    def explain(self, row: np.ndarray) -> Explained:
        attribution = self._attribute(row)
        return Explained(attribution, sigmoid(attribution.output_value), "probability")


class XGBoostRegressorExplainer(_XGBoostExplainer):
    """XGBoost regressor with an identity link: attributions and prediction raw."""

    kind = TwinKind.XGBOOST_REGRESSOR
    _objectives = _IDENTITY_OBJECTIVES

    def explain(self, row: np.ndarray) -> Explained:
        attribution = self._attribute(row)
        return Explained(attribution, attribution.output_value, "value")


class _RandomForestExplainer:
    kind: ClassVar[TwinKind]

    def __init__(self, model: Any, feature_names: Sequence[str]) -> None:
        n = getattr(model, "n_features_in_", None)
        if n is None or not hasattr(model, "estimators_"):
            raise ModelMismatchError(f"{self.kind.value} needs a fitted scikit-learn forest")
        self._model = model
        self._names = checked_names(feature_names, int(n))
        own = getattr(model, "feature_names_in_", None)
        if own is not None and tuple(str(o) for o in own) != self._names:
            raise ModelMismatchError(f"forest feature names {list(own)} differ from {self._names}")
        self._n = len(self._names)
        self._explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def float32(self) -> bool:
        """Whether the model computes in float32, as its kind says (selects the tolerance)."""
        return self.kind.is_float32


class RandomForestClassifierExplainer(_RandomForestExplainer):
    """Binary forest classifier: attributions and prediction are the class-1 probability."""

    kind = TwinKind.RANDOM_FOREST_CLASSIFIER

    def __init__(self, model: Any, feature_names: Sequence[str]) -> None:
        super().__init__(model, feature_names)
        classes = getattr(model, "classes_", None)
        if classes is None or len(classes) != 2:
            raise UnsupportedKind(f"{self.kind.value}: only binary classifiers")
        self._base = float(np.asarray(self._explainer.expected_value).reshape(-1)[1])

    def explain(self, row: np.ndarray) -> Explained:
        x = as_row(row, self._n, np.float64)
        output = float(np.asarray(self._model.predict_proba(x))[0, 1])
        values = np.asarray(self._explainer.shap_values(x, check_additivity=False))
        if values.shape != (1, self._n, 2):  # shap >= 0.45: (rows, features, classes)
            raise ExplainError(f"unexpected shap output shape {values.shape}")
        phi = values[0, :, 1]
        attribution = Attribution(
            output_space=self.kind.output_space,
            base_value=self._base,
            output_value=output,
            contributions=dict(zip(self._names, phi.tolist(), strict=True)),
        )
        return Explained(attribution, output, "probability")


class RandomForestRegressorExplainer(_RandomForestExplainer):
    """Forest regressor: attributions and prediction are raw values."""

    kind = TwinKind.RANDOM_FOREST_REGRESSOR

    def __init__(self, model: Any, feature_names: Sequence[str]) -> None:
        super().__init__(model, feature_names)
        self._base = float(np.asarray(self._explainer.expected_value).reshape(-1)[0])

    def explain(self, row: np.ndarray) -> Explained:
        x = as_row(row, self._n, np.float64)
        output = float(np.asarray(self._model.predict(x)).reshape(-1)[0])
        phi = np.asarray(self._explainer.shap_values(x, check_additivity=False))[0]
        attribution = Attribution(
            output_space=self.kind.output_space,
            base_value=self._base,
            output_value=output,
            contributions=dict(zip(self._names, phi.tolist(), strict=True)),
        )
        return Explained(attribution, output, "value")
