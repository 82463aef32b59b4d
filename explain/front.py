"""The front door: one explicit table from twin kind to explainer factory.

Build an explainer once per model version with :func:`build_explainer`; call its
``explain(row)`` per request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import xgboost as xgb

from explain.dose import SquaredLinearDose, SquaredLinearDoseExplainer
from explain.errors import ModelMismatchError, UnsupportedKind
from explain.explained import TwinExplainer
from explain.linear import CoxExplainer, CoxLinear, LogisticRegressionExplainer
from explain.mechanistic import BACKGROUND_ROWS, build_mechanistic_explainer
from explain.trees import (
    RandomForestClassifierExplainer,
    RandomForestRegressorExplainer,
    XGBoostClassifierExplainer,
    XGBoostRegressorExplainer,
)
from models import TwinKind

#: ``(model, feature_names, background, output) -> explainer``; ``output`` names the
#: output of a mechanistic twin (the card's ``extra["output"]``) and is ignored otherwise.
ExplainerFactory = Callable[[Any, Sequence[str], np.ndarray, str | None], TwinExplainer]


def _booster(model: Any) -> xgb.Booster:
    """Accept a bare Booster or the scikit-learn wrapper around one."""
    if isinstance(model, xgb.Booster):
        return model
    if isinstance(model, xgb.XGBModel):
        return model.get_booster()
    raise ModelMismatchError(f"expected an xgboost Booster, got {type(model).__name__}")


def _xgb_classifier(
    model: Any, names: Sequence[str], _bg: np.ndarray, _output: str | None
) -> TwinExplainer:
    return XGBoostClassifierExplainer(_booster(model), names)


def _xgb_regressor(
    model: Any, names: Sequence[str], _bg: np.ndarray, _output: str | None
) -> TwinExplainer:
    return XGBoostRegressorExplainer(_booster(model), names)


def _rf_classifier(
    model: Any, names: Sequence[str], _bg: np.ndarray, _output: str | None
) -> TwinExplainer:
    return RandomForestClassifierExplainer(model, names)


def _rf_regressor(
    model: Any, names: Sequence[str], _bg: np.ndarray, _output: str | None
) -> TwinExplainer:
    return RandomForestRegressorExplainer(model, names)


def _logistic(
    model: Any, names: Sequence[str], bg: np.ndarray, _output: str | None
) -> TwinExplainer:
    return LogisticRegressionExplainer(model, names, bg)


def _cox(model: Any, names: Sequence[str], bg: np.ndarray, _output: str | None) -> TwinExplainer:
    if not isinstance(model, CoxLinear):
        raise ModelMismatchError(f"expected a Cox linear model, got {type(model).__name__}")
    return CoxExplainer(model, names, bg)


def _dose(model: Any, names: Sequence[str], bg: np.ndarray, _output: str | None) -> TwinExplainer:
    if not isinstance(model, SquaredLinearDose):
        raise ModelMismatchError(
            f"expected a squared-linear dose model, got {type(model).__name__}"
        )
    return SquaredLinearDoseExplainer(model, names, bg)


def _mechanistic(kind: TwinKind) -> ExplainerFactory:
    def factory(
        model: Any, names: Sequence[str], bg: np.ndarray, output: str | None
    ) -> TwinExplainer:
        if output is None:
            raise ModelMismatchError(
                f'{kind.value} twins need the output to explain (the card\'s extra["output"])'
            )
        return build_mechanistic_explainer(kind, model, names, bg, output)

    return factory


#: The dispatch table. Tree explainers are path-dependent and ignore the background.
EXPLAINER_FACTORIES: Mapping[TwinKind, ExplainerFactory] = MappingProxyType(
    {
        TwinKind.XGBOOST_CLASSIFIER: _xgb_classifier,
        TwinKind.XGBOOST_REGRESSOR: _xgb_regressor,
        TwinKind.RANDOM_FOREST_CLASSIFIER: _rf_classifier,
        TwinKind.RANDOM_FOREST_REGRESSOR: _rf_regressor,
        TwinKind.LOGISTIC_REGRESSION: _logistic,
        TwinKind.COX_PH: _cox,
        TwinKind.PK_VANCOMYCIN: _mechanistic(TwinKind.PK_VANCOMYCIN),
        TwinKind.WINDKESSEL: _mechanistic(TwinKind.WINDKESSEL),
        TwinKind.RADIOTHERAPY: _mechanistic(TwinKind.RADIOTHERAPY),
        TwinKind.GLUCOSE_T1D: _mechanistic(TwinKind.GLUCOSE_T1D),
        TwinKind.IWPC_WARFARIN: _dose,
    }
)


#: Kinds explained by path-dependent TreeSHAP: the background is not used (the base value
#: is the trees' mean over their own training data, from the node covers).
PATH_DEPENDENT: frozenset[TwinKind] = frozenset(
    {
        TwinKind.XGBOOST_CLASSIFIER,
        TwinKind.XGBOOST_REGRESSOR,
        TwinKind.RANDOM_FOREST_CLASSIFIER,
        TwinKind.RANDOM_FOREST_REGRESSOR,
    }
)


def background_rows_used(kind: TwinKind, n_rows: int) -> int:
    """How many of ``n_rows`` background rows :func:`build_explainer` explains against:
    none for path-dependent trees, the first :data:`~explain.mechanistic.BACKGROUND_ROWS`
    for mechanistic twins, every row for linear and dose twins."""
    if kind in PATH_DEPENDENT:
        return 0
    if kind.is_mechanistic:
        return min(n_rows, BACKGROUND_ROWS)
    return n_rows


def build_explainer(
    kind: TwinKind,
    model: object,
    feature_names: Sequence[str],
    background: np.ndarray,
    output: str | None = None,
) -> TwinExplainer:
    """Build the explainer for ``kind`` once; expensive set-up happens here.

    Mechanistic kinds explain one named ``output`` and need it (pass the card's
    ``extra["output"]``, :attr:`~models.card.TwinCard.default_output`); for an output
    chosen per request use :func:`explain.mechanistic.build_mechanistic_explainer` and
    cache per (version, output). ``output`` is ignored for every other kind.

    Raises :class:`UnsupportedKind` for a kind without explainer and
    :class:`ModelMismatchError` when the model does not fit the kind.
    """
    factory = EXPLAINER_FACTORIES.get(kind)
    if factory is None:
        raise UnsupportedKind(f"no explainer for twin kind {kind!r}")
    return factory(model, feature_names, background, output)
