"""Per-group metrics of the bias audits, each computed on one group's records.

:mod:`governance.validation.bias_audit` hands these to fairlearn's ``MetricFrame``; a metric that is
undefined for a group (one class only, no follow-up reaching the horizon) yields NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from models.validation.survival import concordance_index, kaplan_meier


def guarded(metric: Callable[..., Any]) -> Callable[..., float]:
    """The metric as a float, NaN where it is undefined for a group (e.g. one class only)."""

    def safe(y_true: Any, y_pred: Any, **kw: Any) -> float:
        try:
            return float(metric(y_true, y_pred, **kw))
        except (ValueError, ZeroDivisionError, IndexError):
            return math.nan

    return safe


def thresholded(metric: Callable[..., Any], y_true: Any, proba: Any, threshold: float) -> float:
    """``metric`` of the predictions ``proba >= threshold`` (NaN with one class only)."""
    y = np.asarray(y_true)
    if len(np.unique(y)) < 2:
        return math.nan
    return float(metric(y, (np.asarray(proba) >= threshold).astype(int)))


def roc_auc(y_true: Any, proba: Any) -> float:
    """ROC AUC of the predicted probabilities (NaN with one class only)."""
    y = np.asarray(y_true)
    if len(np.unique(y)) < 2:
        return math.nan  # undefined with one class (sklearn would warn and return NaN)
    return float(roc_auc_score(y, proba))


def mean_absolute_relative_error(y_true: Any, y_pred: Any) -> float:
    """Mean of ``|pred - obs| / obs``; every observation is positive (the caller checks).

    Chosen over the MAE of log values because it reads as the twin's typical percentage
    error, so the ratio limit keeps its plain meaning ("a quarter less accurate"), and a
    prediction of zero (a tumour eradicated, a level below detection) stays legitimate
    where its log would be undefined. It weighs over-prediction more than under-prediction
    (the latter is capped at 100 %); for errors of a few tens of percent both measures
    agree within a few percent. Unlike sklearn's MAPE, no epsilon hides a zero observation.
    """
    y = np.asarray(y_true, dtype=np.float64)
    return float(np.mean(np.abs(np.asarray(y_pred, dtype=np.float64) - y) / y))


def mean_absolute_sqrt_error(y_true: Any, y_pred: Any) -> float:
    """Mean of ``|sqrt(pred) - sqrt(obs)|``; nothing is negative (the caller checks).

    The error scale of a model fitted on the square root of its output (the IWPC warfarin
    algorithm): there its residuals have one spread whatever the output, while in the
    output's own units they grow about as ``2 * sqrt(output) * residual``, so groups whose
    typical output differs would differ in MAE (or in relative error, the other way round)
    even if the model served them equally well.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(np.abs(np.sqrt(p) - np.sqrt(y))))


def calibration_in_the_large(y_true: Any, proba: Any) -> float:
    """``|mean predicted probability - observed rate|``."""
    return abs(float(np.mean(proba)) - float(np.mean(y_true)))


def concordance(event: Any, risk: Any, time: Any) -> float:
    """Harrell's C of the risk scores (higher risk, earlier event); ``ValueError`` where it
    is undefined (:func:`models.validation.survival.concordance_index`)."""
    return concordance_index(event, time, risk)


def km_calibration(event: Any, _risk: Any, time: Any, survival: Any, horizon: float) -> float:
    """``|mean predicted S(horizon) - Kaplan-Meier S(horizon)|`` (NaN without follow-up)."""
    observed = kaplan_meier(event, time, horizon)
    if math.isnan(observed):
        return math.nan
    return abs(float(np.mean(survival)) - observed)
