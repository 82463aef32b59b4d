"""A bias audit as the version page shows it: per sensitive attribute, the groups by
their labels with each metric beside the limit it is held to, and each gap between the
groups beside its policy threshold (``policies/thresholds.toml [bias_audit]``).

The limits shown are those the audit was judged with (stored with it); where today's
policy holds a different value, the page says so beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.http.pages.change_control_view import metric_label

BIAS_LABELS = {
    "tpr": "TPR (sensitivity)", "fpr": "FPR (false-positive rate)", "auc": "AUC",
    "calibration_error": "calibration error", "concordance": "C-index",
}  # fmt: skip
#: A gap criterion -> the metric whose gap between groups it limits.
GAP_OF = {"max_tpr_gap": "tpr", "max_fpr_gap": "fpr", "max_concordance_gap": "concordance"}


def label(metric: str) -> str:
    return BIAS_LABELS.get(metric, metric_label(metric))


def group_name(labels: Mapping[str, str], code: str) -> str:
    """``female (1)`` when the card names the code, else the code itself."""
    name = labels.get(code)
    return f"{name} ({code})" if name else code


def attribute_views(
    audit: Mapping[str, Any],
    labels: Mapping[str, Mapping[str, str]],
    today: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """One view per audited attribute (``today``: the policy's ``[bias_audit]`` now)."""
    return [
        _attribute(name, result, labels.get(name, {}), _today_limits(today, result))
        for name, result in audit.get("attributes", {}).items()
    ]


def _attribute(
    name: str, res: Mapping[str, Any], labels: Mapping[str, str], today: Mapping[str, float]
) -> dict[str, Any]:
    criteria = list(res.get("criteria", []))
    per_group = {(c["name"], c["group"]): c for c in criteria if c.get("group") is not None}
    limits = {c["name"]: c for c in criteria if c.get("group") is not None}
    metrics = list(res.get("metrics", {}))
    columns = []
    for metric in metrics:
        held = next((c for (n, _g), c in per_group.items() if _limits(n, metric)), None)
        columns.append({"metric": metric, "label": label(metric), "limit": held})
    groups = []
    for code, n in res.get("group_sizes", {}).items():
        cells = []
        for col in columns:
            crit = per_group.get((col["limit"]["name"], code)) if col["limit"] else None
            value = res["metrics"][col["metric"]].get(code)
            cells.append({"value": value, "passed": None if crit is None else crit["passed"]})
        groups.append({"code": code, "name": group_name(labels, code), "n": n, "cells": cells})
    return {
        "attribute": name,
        "passed": res.get("passed"),
        "labelled": bool(labels),
        "groups": groups,
        "columns": columns,
        "gaps": _gaps(res, today),
        "group_limits": [_with_today(c, today) for c in limits.values()],
        "reasons": list(res.get("reasons", [])),
    }


def _limits(criterion: str, metric: str) -> bool:
    """Whether the per-group ``criterion`` (``min_auc``) holds ``metric`` (``auc``)."""
    return criterion.split("_", 1)[1] == metric if "_" in criterion else False


def _gaps(res: Mapping[str, Any], today: Mapping[str, float]) -> list[dict[str, Any]]:
    """The judged gaps (criteria without a group) first, then gaps no limit holds."""
    rows = []
    covered = set()
    for c in res.get("criteria", []):
        if c.get("group") is not None:
            continue
        metric = GAP_OF.get(c["name"]) or next(
            (g for g in res.get("gaps", {}) if g.endswith("_ratio")), c["name"]
        )
        covered.add(metric)
        kind = "ratio largest / smallest" if metric.endswith("_ratio") else "largest - smallest"
        base = metric.removesuffix("_ratio")
        rows.append({"label": f"{label(base)}: {kind}", **_with_today(c, today)})
    for metric, value in res.get("gaps", {}).items():
        if metric not in covered:
            rows.append(
                {"label": f"{label(metric)}: largest - smallest", "value": value, "limit": None}
            )
    return rows


def _with_today(criterion: Mapping[str, Any], today: Mapping[str, float]) -> dict[str, Any]:
    now = today.get(criterion["name"])
    changed = now is not None and criterion.get("limit") is not None and now != criterion["limit"]
    return {**criterion, "today": now if changed else None}


def _today_limits(policy: Mapping[str, Any], res: Mapping[str, Any]) -> dict[str, float]:
    """Today's limits of the policy section (classifier, survival, regressor) that holds
    every criterion the attribute was judged by."""
    names = {c["name"] for c in res.get("criteria", [])}
    for value in policy.values():
        if isinstance(value, Mapping) and names <= set(value):
            return {k: v for k, v in value.items() if isinstance(v, int | float)}
    return {}
