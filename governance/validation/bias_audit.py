"""Bias audits: per sensitive attribute, per group metrics with fairlearn's ``MetricFrame``.

Models are judged on *error-rate parity* and per-group quality — never on demographic
parity (different groups may legitimately have different base rates).

Limits come from ``policies/thresholds.toml``, table ``[bias_audit]`` (the mapping handed
in as ``limits``); every key below is required for the model kind audited, and a missing
or non-numeric one raises :class:`~governance.errors.PolicyError` (fail closed)::

    [bias_audit]
    max_age_days = 180          # (read by the policy loader, not here)
    min_group_size = 30         # every group of every attribute needs this many records
    min_group_events = 10       # classifier: positives AND negatives per group;
                                # survival: observed events per group

    [bias_audit.classifier]
    max_tpr_gap = 0.10          # max - min true-positive rate (recall) between groups
    max_fpr_gap = 0.10          # max - min false-positive rate between groups
    min_auc = 0.70              # ROC AUC of every group
    max_calibration_error = 0.05  # per group |mean predicted probability - observed rate|

    [bias_audit.survival]
    min_concordance = 0.65      # Harrell's C of every group
    max_concordance_gap = 0.10  # max - min C between groups
    max_calibration_error = 0.05  # per group |mean predicted S(horizon) - Kaplan-Meier S(horizon)|

    [bias_audit.regressor]
    max_mae_ratio = 1.25        # largest / smallest group mean error, on the card's scale

A regressor's error is measured on the scale its card declares (``error_scale``):
``"absolute"`` (the default) compares the mean absolute error (``mae``) of the groups,
``"relative"`` their mean absolute relative error ``|pred - obs| / obs`` (``mare``), for
outputs whose error grows with their size (volumes, concentrations spanning orders of
magnitude), where a few large values would otherwise decide every group's MAE, and
``"sqrt"`` their mean ``|sqrt(pred) - sqrt(obs)|`` (``mae_sqrt``), for a model fitted on
the square root of its output (a dose), whose errors have one spread only there. The same
ratio limit judges every scale; the result records which one was used.

A group smaller than ``min_group_size`` (or with too few events), an attribute with a
single group, a metric that cannot be computed and an empty ``sensitive`` mapping all fail
the audit with a reason: too little evidence never passes. Sensitive values may be numeric
codes; groups are labelled by their string form (``1.0`` as ``"1"``, missing as
``"missing"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
from fairlearn.metrics import false_positive_rate, true_positive_rate
from sklearn.metrics import mean_absolute_error

from governance.errors import InvalidInput
from governance.validation.bias_groups import (
    audit_by_group,
    fmt_value,
    gap_criterion,
    group_ratio,
    groups_with,
    per_group_criteria,
    per_group_text,
)
from governance.validation.bias_inputs import (
    Labels,
    binary,
    floats,
    limit_section,
    require_non_negative,
    require_positive,
    size_limits,
)
from governance.validation.bias_metrics import (
    calibration_in_the_large,
    concordance,
    guarded,
    km_calibration,
    mean_absolute_relative_error,
    mean_absolute_sqrt_error,
    roc_auc,
    thresholded,
)
from governance.validation.bias_results import (
    ERROR_METRICS,
    AttributeResult,
    BiasAuditResult,
    Criterion,
)


def audit_classifier(
    y_true: npt.ArrayLike,
    proba: npt.ArrayLike,
    threshold: float,
    sensitive: Mapping[str, npt.ArrayLike],
    limits: Mapping[str, Any],
) -> BiasAuditResult:
    """Error-rate parity (TPR, FPR gaps), per-group AUC and calibration of a classifier.

    ``proba`` is the predicted probability of the positive class; a record is predicted
    positive when ``proba >= threshold``.
    """
    y = binary(y_true, "y_true")
    p = floats(proba, "proba", len(y))
    if np.any((p < 0) | (p > 1)):
        raise InvalidInput("proba must lie in [0, 1]", field="proba")
    if not 0.0 < float(threshold) < 1.0:
        raise InvalidInput("threshold must lie strictly between 0 and 1", field="threshold")
    min_size, min_events = size_limits(limits, events=True)
    lim = limit_section(
        limits, "classifier", ("max_tpr_gap", "max_fpr_gap", "min_auc", "max_calibration_error")
    )
    metrics: dict[str, Callable[..., float]] = {
        "tpr": guarded(partial(thresholded, true_positive_rate, threshold=float(threshold))),
        "fpr": guarded(partial(thresholded, false_positive_rate, threshold=float(threshold))),
        "auc": guarded(roc_auc),
        "calibration_error": guarded(calibration_in_the_large),
    }

    def judge(res: AttributeResult, labels: Labels) -> None:
        for g, label in groups_with(res, labels):
            positives = int(np.sum(y[label]))
            negatives = int(label.sum()) - positives
            if min(positives, negatives) < min_events:
                res.reasons.append(
                    f"{res.attribute}: group {g!r} has {positives} positives and {negatives} "
                    f"negatives, fewer than min_group_events={min_events} of each: too little "
                    "evidence to judge"
                )
        gap_criterion(res, "tpr", "max_tpr_gap", lim["max_tpr_gap"], "TPR (recall)")
        gap_criterion(res, "fpr", "max_fpr_gap", lim["max_fpr_gap"], "FPR")
        per_group_criteria(res, "auc", "min_auc", lim["min_auc"], ">=", "AUC")
        per_group_criteria(
            res,
            "calibration_error",
            "max_calibration_error",
            lim["max_calibration_error"],
            "<=",
            "calibration error",
        )

    return audit_by_group(y, p, sensitive, metrics, None, min_size, judge)


def audit_survival(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    risk_score: npt.ArrayLike,
    survival_at_horizon: npt.ArrayLike,
    horizon: float,
    sensitive: Mapping[str, npt.ArrayLike],
    limits: Mapping[str, Any],
) -> BiasAuditResult:
    """Per-group concordance (and its gap) and calibration at ``horizon`` of a survival model.

    ``risk_score``: higher means earlier events; ``survival_at_horizon``: each record's
    predicted probability of surviving past ``horizon``, compared per group with the
    Kaplan-Meier estimate at ``horizon``.
    """
    e = binary(event, "event").astype(bool)
    t = floats(time, "time", len(e))
    r = floats(risk_score, "risk_score", len(e))
    s = floats(survival_at_horizon, "survival_at_horizon", len(e))
    if not math.isfinite(float(horizon)) or float(horizon) <= 0:
        raise InvalidInput("horizon must be a positive number", field="horizon")
    min_size, min_events = size_limits(limits, events=True)
    lim = limit_section(
        limits, "survival", ("min_concordance", "max_concordance_gap", "max_calibration_error")
    )
    metrics: dict[str, Callable[..., float]] = {
        "concordance": guarded(concordance),
        "calibration_error": guarded(partial(km_calibration, horizon=float(horizon))),
    }
    params = {"concordance": {"time": t}, "calibration_error": {"time": t, "survival": s}}

    def judge(res: AttributeResult, labels: Labels) -> None:
        for g, label in groups_with(res, labels):
            events = int(np.sum(e[label]))
            if events < min_events:
                res.reasons.append(
                    f"{res.attribute}: group {g!r} has {events} observed events, fewer than "
                    f"min_group_events={min_events}: too little evidence to judge"
                )
            if float(np.max(t[label])) < float(horizon):
                res.reasons.append(
                    f"{res.attribute}: group {g!r} has no follow-up reaching the horizon "
                    f"{horizon}: its calibration cannot be judged"
                )
        per_group_criteria(
            res, "concordance", "min_concordance", lim["min_concordance"], ">=", "concordance"
        )
        gap_criterion(
            res, "concordance", "max_concordance_gap", lim["max_concordance_gap"], "concordance"
        )
        per_group_criteria(
            res,
            "calibration_error",
            "max_calibration_error",
            lim["max_calibration_error"],
            "<=",
            "calibration error at the horizon",
        )

    return audit_by_group(e, r, sensitive, metrics, params, min_size, judge)


def audit_regressor(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    sensitive: Mapping[str, npt.ArrayLike],
    limits: Mapping[str, Any],
    error_scale: str = "absolute",
) -> BiasAuditResult:
    """Per-group mean error on ``error_scale``; the largest / smallest must stay bounded.

    ``"absolute"``: mean absolute error (``mae``); ``"relative"``: mean absolute relative
    error (``mare``), which needs every observation to be positive; ``"sqrt"``: mean
    absolute error of the square roots (``mae_sqrt``), which needs no negative value.
    """
    if error_scale not in ERROR_METRICS:
        raise InvalidInput(
            f"error_scale must be one of {sorted(ERROR_METRICS)}, got {error_scale!r}",
            field="error_scale",
        )
    y = floats(y_true, "y_true", None)
    p = floats(y_pred, "y_pred", len(y))
    if error_scale == "relative":
        require_positive(y, "y_true")
    if error_scale == "sqrt":
        require_non_negative(y, "y_true")
        require_non_negative(p, "y_pred")
    min_size, _ = size_limits(limits, events=False)
    lim = limit_section(limits, "regressor", ("max_mae_ratio",))
    name = ERROR_METRICS[error_scale]
    error, label = _ERROR_FUNCTIONS[error_scale]
    metrics: dict[str, Callable[..., float]] = {name: guarded(error)}

    def judge(res: AttributeResult, _labels: Labels) -> None:
        by = res.metrics[name]
        values = list(by.values())
        ratio = group_ratio(values)
        res.gaps[f"{name}_ratio"] = ratio
        crit = Criterion("max_mae_ratio", ratio, lim["max_mae_ratio"], "<=")
        res.criteria.append(crit)
        if not crit.passed:
            res.reasons.append(
                f"{res.attribute}: {label} ratio between groups {fmt_value(ratio)} exceeds "
                f"max_mae_ratio {lim['max_mae_ratio']} ({per_group_text(by)})"
            )

    result = audit_by_group(y, p, sensitive, metrics, None, min_size, judge)
    result.error_scale = error_scale
    return result


#: Per error scale: the per-group error function and how a reason names it.
_ERROR_FUNCTIONS: dict[str, tuple[Callable[..., float], str]] = {
    "absolute": (mean_absolute_error, "MAE"),
    "relative": (mean_absolute_relative_error, "MARE (mean absolute relative error)"),
    "sqrt": (mean_absolute_sqrt_error, "MAE of square roots"),
}
