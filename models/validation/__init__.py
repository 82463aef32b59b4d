"""Validation of twin versions on held-out data: pure computation, no governance.

- :func:`validate` — performance of the kind's prediction with percentile bootstrap
  intervals, overall and per group of every sensitive attribute
  (:class:`ValidationReport`): classifiers AUC, Brier score, calibration (curve,
  intercept, slope), sensitivity/specificity at the card's threshold; survival twins
  Harrell's C and predicted vs Kaplan-Meier survival at the horizon (overall, per risk
  group); regressors and mechanistic outputs MAE, RMSE, bias and skill.
- :func:`compare` — two versions scored on the same rows; paired bootstrap differences.
- :func:`verify_mechanistic` — code and calculation verification of mechanistic kernels.
- :class:`BootstrapSettings`, :class:`Estimate` — how intervals are drawn, and one value
  with its interval.
"""

from models.validation.bootstrap import BootstrapSettings, Estimate, interval, resample_indices
from models.validation.classifier import calibration_bins, classifier_performance
from models.validation.regression import regression_performance
from models.validation.report import (
    PRIMARY_METRIC,
    ValidationDataError,
    compare,
    family_of,
    group_labels,
    outcome_columns,
    validate,
)
from models.validation.result import Family, Performance, ValidationReport
from models.validation.survival import harrell_c, kaplan_meier, survival_performance
from models.validation.verification import (
    VerificationCheck,
    VerificationSummary,
    verify_mechanistic,
)

__all__ = [
    "PRIMARY_METRIC",
    "BootstrapSettings",
    "Estimate",
    "Family",
    "Performance",
    "ValidationDataError",
    "ValidationReport",
    "VerificationCheck",
    "VerificationSummary",
    "calibration_bins",
    "classifier_performance",
    "compare",
    "family_of",
    "group_labels",
    "harrell_c",
    "interval",
    "kaplan_meier",
    "outcome_columns",
    "regression_performance",
    "resample_indices",
    "survival_performance",
    "validate",
    "verify_mechanistic",
]
