"""Explanations of twin predictions: one explainer per model kind behind one front door.

Build an explainer once per model version with :func:`build_explainer` (it dispatches on
:class:`~models.TwinKind` through an explicit table), then call ``explain(row)`` per
request; mechanistic twins get one explainer per version and named output
(:func:`build_mechanistic_explainer`); dosing twins (IWPC warfarin) are explained in dose
space, mg/week (:class:`SquaredLinearDoseExplainer`). The result is our own serialisable type: an
:class:`Explained` holding the prediction in natural units and an :class:`Attribution`
(base value, the model's own output, one contribution per feature) in the kind's output
space. Check faithfulness with :func:`check_additivity`; draw with :func:`waterfall_svg`.
Check a version's explanations over its validation set (additivity on every row,
stability, global importance) with :func:`check_explanations`.

Errors derive from :class:`ExplainError` (tree in :mod:`explain.errors`).
"""

from explain.attribution import (
    FLOAT32_TOLERANCE,
    FLOAT64_TOLERANCE,
    AdditivityCheck,
    Attribution,
    check_additivity,
)
from explain.checks import ExplanationChecks, check_explanations
from explain.dose import SquaredLinearDose, SquaredLinearDoseExplainer
from explain.errors import (
    ExplainError,
    InvalidRowError,
    ModelMismatchError,
    UnsupportedKind,
)
from explain.explained import Explained, TwinExplainer
from explain.front import EXPLAINER_FACTORIES, background_rows_used, build_explainer
from explain.linear import CoxExplainer, CoxLinear, LogisticRegressionExplainer
from explain.mechanistic import MechanisticExplainer, build_mechanistic_explainer
from explain.plots import waterfall_svg
from explain.trees import (
    RandomForestClassifierExplainer,
    RandomForestRegressorExplainer,
    XGBoostClassifierExplainer,
    XGBoostRegressorExplainer,
)

__all__ = [
    "EXPLAINER_FACTORIES",
    "FLOAT32_TOLERANCE",
    "FLOAT64_TOLERANCE",
    "AdditivityCheck",
    "Attribution",
    "CoxExplainer",
    "CoxLinear",
    "ExplainError",
    "Explained",
    "ExplanationChecks",
    "InvalidRowError",
    "LogisticRegressionExplainer",
    "MechanisticExplainer",
    "ModelMismatchError",
    "RandomForestClassifierExplainer",
    "RandomForestRegressorExplainer",
    "SquaredLinearDose",
    "SquaredLinearDoseExplainer",
    "TwinExplainer",
    "UnsupportedKind",
    "XGBoostClassifierExplainer",
    "XGBoostRegressorExplainer",
    "background_rows_used",
    "build_explainer",
    "build_mechanistic_explainer",
    "check_additivity",
    "check_explanations",
    "waterfall_svg",
]
