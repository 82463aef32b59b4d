"""The frame the bias audits share: per sensitive attribute, each group's metrics with
fairlearn's ``MetricFrame``, the group sizes and the gaps between groups; the criteria
judged on gaps and on each group; and the text of values in the audit's reasons.

Too little evidence never passes: an attribute with a single group and a group smaller
than ``min_group_size`` fail the attribute with a reason, as does an empty ``sensitive``
mapping the audit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from fairlearn.metrics import MetricFrame

from governance.validation.bias_inputs import FloatArray, Labels, sensitive_labels
from governance.validation.bias_results import AttributeResult, BiasAuditResult, Criterion


def audit_by_group(
    y: npt.NDArray[Any],
    pred: FloatArray,
    sensitive: Mapping[str, npt.ArrayLike],
    metrics: dict[str, Callable[..., float]],
    params: dict[str, dict[str, FloatArray]] | None,
    min_size: int,
    judge: Callable[[AttributeResult, Labels], None],
) -> BiasAuditResult:
    """One :class:`AttributeResult` per sensitive attribute (metrics, sizes and gaps by
    group, the reasons of too little evidence, then ``judge``'s criteria); the audit passes
    when no attribute has a reason."""
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


def groups_with(res: AttributeResult, labels: Labels) -> list[tuple[str, npt.NDArray[np.bool_]]]:
    """Each group of ``res`` with the mask of its records."""
    return [(g, labels == g) for g in res.group_sizes]


def gap_criterion(
    res: AttributeResult, metric: str, limit_name: str, limit: float, label: str
) -> None:
    gap = res.gaps[metric]
    crit = Criterion(limit_name, gap, limit, "<=")
    res.criteria.append(crit)
    if not crit.passed:
        why = (
            f"{fmt_value(gap)} exceeds {limit_name} {limit}"
            if math.isfinite(gap)
            else "cannot be computed"
        )
        by = per_group_text(res.metrics[metric])
        res.reasons.append(f"{res.attribute}: {label} gap between groups {why} ({by})")


def per_group_criteria(
    res: AttributeResult, metric: str, limit_name: str, limit: float, op: str, label: str
) -> None:
    for g, value in res.metrics[metric].items():
        crit = Criterion(limit_name, value, limit, op, group=g)
        res.criteria.append(crit)
        if not crit.passed:
            side = "below" if op == ">=" else "above"
            why = (
                "cannot be computed"
                if not math.isfinite(value)
                else f"{fmt_value(value)} is {side} {limit_name} {limit}"
            )
            res.reasons.append(f"{res.attribute}: group {g!r} {label} {why}")


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


def group_ratio(values: list[float]) -> float:
    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        return math.nan
    low, high = min(values), max(values)
    if low <= 0:
        return math.inf if high > 0 else 1.0
    return high / low


def fmt_value(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "undefined"


def per_group_text(by: Mapping[str, float]) -> str:
    return ", ".join(f"group {g}: {fmt_value(v)}" for g, v in by.items())
