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
magnitude), where a few large values would otherwise decide every group's MAE. The same
ratio limit judges either scale; the result records which one was used.

A group smaller than ``min_group_size`` (or with too few events), an attribute with a
single group, a metric that cannot be computed and an empty ``sensitive`` mapping all fail
the audit with a reason: too little evidence never passes. Sensitive values may be numeric
codes; groups are labelled by their string form (``1.0`` as ``"1"``, missing as
``"missing"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
from fairlearn.metrics import MetricFrame, false_positive_rate, true_positive_rate
from sklearn.metrics import mean_absolute_error

from governance.errors import InvalidInput
from governance.validation.bias_inputs import (
    FloatArray,
    Labels,
    binary,
    floats,
    limit_section,
    require_positive,
    sensitive_labels,
    size_limits,
)
from governance.validation.bias_metrics import (
    calibration_in_the_large,
    concordance,
    guarded,
    km_calibration,
    mean_absolute_relative_error,
    roc_auc,
    thresholded,
)

#: A regressor's declared error scale -> the per-group metric its audit compares.
ERROR_METRICS: dict[str, str] = {"absolute": "mae", "relative": "mare"}


@dataclass(frozen=True)
class Criterion:
    """One judged comparison: ``value <op> limit`` (``group`` set for per-group criteria)."""

    name: str
    value: float
    limit: float
    op: str  # "<=" or ">="
    group: str | None = None

    @property
    def passed(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "value": _safe(self.value),
            "op": self.op,
            "limit": _safe(self.limit),
            "passed": self.passed,
        }


@dataclass
class AttributeResult:
    """Per-group metric values, group sizes, gaps and judged criteria of one attribute."""

    attribute: str
    group_sizes: dict[str, int]
    metrics: dict[str, dict[str, float]]
    gaps: dict[str, float]
    criteria: list[Criterion] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons and all(c.passed for c in self.criteria)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "group_sizes": dict(self.group_sizes),
            "metrics": {m: {g: _safe(v) for g, v in by.items()} for m, by in self.metrics.items()},
            "gaps": {m: _safe(v) for m, v in self.gaps.items()},
            "criteria": [c.to_dict() for c in self.criteria],
            "reasons": list(self.reasons),
        }


@dataclass
class BiasAuditResult:
    passed: bool
    attributes: dict[str, AttributeResult]
    reasons: list[str]
    #: Regressors only: the declared error scale and the metric it was judged with.
    error_scale: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: non-finite floats become ``None``, group keys are strings."""
        out: dict[str, Any] = {
            "passed": self.passed,
            "attributes": {a: r.to_dict() for a, r in self.attributes.items()},
            "reasons": list(self.reasons),
        }
        if self.error_scale is not None:
            out["error_scale"] = self.error_scale
            out["error_metric"] = ERROR_METRICS[self.error_scale]
        return out


# -- public audits --------------------------------------------------------------------------
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
        for g, label in _groups_with(res, labels):
            positives = int(np.sum(y[label]))
            negatives = int(label.sum()) - positives
            if min(positives, negatives) < min_events:
                res.reasons.append(
                    f"{res.attribute}: group {g!r} has {positives} positives and {negatives} "
                    f"negatives, fewer than min_group_events={min_events} of each: too little "
                    "evidence to judge"
                )
        _gap(res, "tpr", "max_tpr_gap", lim["max_tpr_gap"], "TPR (recall)")
        _gap(res, "fpr", "max_fpr_gap", lim["max_fpr_gap"], "FPR")
        _per_group(res, "auc", "min_auc", lim["min_auc"], ">=", "AUC")
        _per_group(
            res,
            "calibration_error",
            "max_calibration_error",
            lim["max_calibration_error"],
            "<=",
            "calibration error",
        )

    return _audit(y, p, sensitive, metrics, None, min_size, judge)


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
        for g, label in _groups_with(res, labels):
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
        _per_group(
            res, "concordance", "min_concordance", lim["min_concordance"], ">=", "concordance"
        )
        _gap(res, "concordance", "max_concordance_gap", lim["max_concordance_gap"], "concordance")
        _per_group(
            res,
            "calibration_error",
            "max_calibration_error",
            lim["max_calibration_error"],
            "<=",
            "calibration error at the horizon",
        )

    return _audit(e, r, sensitive, metrics, params, min_size, judge)


def audit_regressor(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    sensitive: Mapping[str, npt.ArrayLike],
    limits: Mapping[str, Any],
    error_scale: str = "absolute",
) -> BiasAuditResult:
    """Per-group mean error on ``error_scale``; the largest / smallest must stay bounded.

    ``"absolute"``: mean absolute error (``mae``); ``"relative"``: mean absolute relative
    error (``mare``), which needs every observation to be positive.
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
    min_size, _ = size_limits(limits, events=False)
    lim = limit_section(limits, "regressor", ("max_mae_ratio",))
    name = ERROR_METRICS[error_scale]
    error = mean_absolute_error if error_scale == "absolute" else mean_absolute_relative_error
    metrics: dict[str, Callable[..., float]] = {name: guarded(error)}
    label = "MAE" if name == "mae" else "MARE (mean absolute relative error)"

    def judge(res: AttributeResult, _labels: Labels) -> None:
        by = res.metrics[name]
        values = list(by.values())
        ratio = _ratio(values)
        res.gaps[f"{name}_ratio"] = ratio
        crit = Criterion("max_mae_ratio", ratio, lim["max_mae_ratio"], "<=")
        res.criteria.append(crit)
        if not crit.passed:
            res.reasons.append(
                f"{res.attribute}: {label} ratio between groups {_fmt(ratio)} exceeds "
                f"max_mae_ratio {lim['max_mae_ratio']} ({_by_group(by)})"
            )

    result = _audit(y, p, sensitive, metrics, None, min_size, judge)
    result.error_scale = error_scale
    return result


# -- the common frame -----------------------------------------------------------------------
def _audit(
    y: npt.NDArray[Any],
    pred: FloatArray,
    sensitive: Mapping[str, npt.ArrayLike],
    metrics: dict[str, Callable[..., float]],
    params: dict[str, dict[str, FloatArray]] | None,
    min_size: int,
    judge: Callable[[AttributeResult, Labels], None],
) -> BiasAuditResult:
    attributes: dict[str, AttributeResult] = {}
    reasons: list[str] = []
    if not sensitive:
        reasons.append("no sensitive attributes were given: fairness cannot be judged")
    for name, values in sensitive.items():
        labels = sensitive_labels(values, name, len(y))
        frame = MetricFrame(
            metrics=metrics, y_true=y, y_pred=pred, sensitive_features=labels, sample_params=params
        )
        by_group = frame.by_group
        groups = sorted({str(g) for g in by_group.index}, key=_group_order)
        sizes = {g: int(np.sum(labels == g)) for g in groups}
        res = AttributeResult(
            attribute=name,
            group_sizes=sizes,
            metrics={m: {g: float(by_group.loc[g, m]) for g in groups} for m in metrics},
            gaps={m: _spread([float(by_group.loc[g, m]) for g in groups]) for m in metrics},
        )
        if len(groups) < 2:
            res.reasons.append(
                f"{name}: only one group ({', '.join(groups)}) in the data: "
                "parity between groups cannot be judged"
            )
        for g, n in sizes.items():
            if n < min_size:
                res.reasons.append(
                    f"{name}: group {g!r} has {n} records, fewer than "
                    f"min_group_size={min_size}: too little evidence to judge"
                )
        judge(res, labels)
        attributes[name] = res
        reasons.extend(res.reasons)
    return BiasAuditResult(not reasons, attributes, reasons)


def _groups_with(res: AttributeResult, labels: Labels) -> list[tuple[str, npt.NDArray[np.bool_]]]:
    return [(g, labels == g) for g in res.group_sizes]


def _gap(res: AttributeResult, metric: str, limit_name: str, limit: float, label: str) -> None:
    gap = res.gaps[metric]
    crit = Criterion(limit_name, gap, limit, "<=")
    res.criteria.append(crit)
    if not crit.passed:
        why = (
            f"{_fmt(gap)} exceeds {limit_name} {limit}"
            if math.isfinite(gap)
            else "cannot be computed"
        )
        res.reasons.append(
            f"{res.attribute}: {label} gap between groups {why} ({_by_group(res.metrics[metric])})"
        )


def _per_group(
    res: AttributeResult, metric: str, limit_name: str, limit: float, op: str, label: str
) -> None:
    for g, value in res.metrics[metric].items():
        crit = Criterion(limit_name, value, limit, op, group=g)
        res.criteria.append(crit)
        if not crit.passed:
            why = (
                "cannot be computed"
                if not math.isfinite(value)
                else (f"{_fmt(value)} is {'below' if op == '>=' else 'above'} {limit_name} {limit}")
            )
            res.reasons.append(f"{res.attribute}: group {g!r} {label} {why}")


# -- formatting -------------------------------------------------------------------------------
def _group_order(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _spread(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) != len(values) or len(values) < 2:
        return math.nan
    return max(finite) - min(finite)


def _ratio(values: list[float]) -> float:
    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        return math.nan
    low, high = min(values), max(values)
    if low <= 0:
        return math.inf if high > 0 else 1.0
    return high / low


def _safe(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _fmt(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "undefined"


def _by_group(by: Mapping[str, float]) -> str:
    return ", ".join(f"group {g}: {_fmt(v)}" for g, v in by.items())
