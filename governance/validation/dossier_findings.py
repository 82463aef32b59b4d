"""Each criterion of a validation dossier held against its limit: one :class:`Finding`
per criterion, with a message saying what was measured and whether it meets the limit.

Interval criteria use the bound that makes the claim credible: a lower bound for
"at least" (``..._lower``), an upper bound for "at most" (``..._upper``), the farther
bound from zero for "within +-limit" (calibration, bias).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governance.validation.dossier_limits import DossierLimits


@dataclass(frozen=True)
class Finding:
    """One judged criterion; ``subject`` names a group (``gender=1``) where it applies."""

    evidence: str
    name: str
    value: float | None
    op: str
    limit: float
    passed: bool
    message: str
    subject: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "evidence": self.evidence,
            "name": self.name,
            "subject": self.subject,
            "value": self.value,
            "op": self.op,
            "limit": self.limit,
            "passed": self.passed,
            "message": self.message,
        }


def criteria_findings(
    validation: Mapping[str, Any],
    explanation: Mapping[str, Any],
    verification: Mapping[str, Any] | None,
    change_control: Mapping[str, Any] | None,
    limits: DossierLimits,
    error_scale: str,
) -> list[Finding]:
    """The findings of every criterion the evidence can be judged by (see
    :class:`~governance.validation.dossier.DossierEvidence` for the pieces)."""
    family = str(validation["family"])
    lim = limits.family[family]
    return [
        *_overall(family, validation["overall"]["metrics"], lim),
        *_subgroups(family, validation, lim, error_scale),
        *_explanation(explanation, limits),
        *_verification(verification, limits),
        *_change_control(change_control, limits),
    ]


def _overall(family: str, metrics: Mapping[str, Any], lim: Mapping[str, float]) -> list[Finding]:
    v = "validation_metrics"
    if family == "classifier":
        return [
            _at_least(v, "min_auc_lower", "AUC lower bound", metrics["auc"]["low"], lim),
            _at_most(v, "max_brier_upper", "Brier upper bound", metrics["brier"]["high"], lim),
            _within(
                v, "max_calibration_in_the_large", "calibration in the large",
                metrics["calibration_in_the_large"], lim,
            ),
            _at_least(
                v, "min_calibration_slope", "calibration slope",
                metrics["calibration_slope"]["estimate"], lim,
            ),
            _at_most(
                v, "max_calibration_slope", "calibration slope",
                metrics["calibration_slope"]["estimate"], lim,
            ),
        ]  # fmt: skip
    if family == "survival":
        return [
            _at_least(
                v, "min_concordance_lower", "Harrell's C lower bound",
                metrics["concordance"]["low"], lim,
            ),
            _within(
                v, "max_calibration_difference", "predicted - Kaplan-Meier survival at the horizon",
                metrics["calibration_difference"], lim,
            ),
        ]  # fmt: skip
    return [
        _at_least(v, "min_skill", "skill", metrics["skill"]["estimate"], lim),
        _at_least(v, "min_skill_lower", "skill lower bound", metrics["skill"]["low"], lim),
        _within(v, "max_relative_bias", "relative bias", metrics["relative_bias"], lim),
    ]


#: Per error scale: the metric that judges groups and how a finding names it.
_GROUP_ERRORS: dict[str, tuple[str, str]] = {
    "absolute": ("mae", "MAE"),
    "relative": ("mare", "relative error"),
    "sqrt": ("mae_sqrt", "MAE of square roots"),
}


def _subgroups(
    family: str, validation: Mapping[str, Any], lim: Mapping[str, float], error_scale: str
) -> list[Finding]:
    """Per-group quality; regressors' error on the scale the card declares (MAE, or the
    mean absolute relative error for outputs spanning orders of magnitude, the mean
    absolute error of square roots for a model fitted on the square root of a dose)."""
    s = "subgroup_performance"
    out = []
    error, error_label = _GROUP_ERRORS.get(error_scale, _GROUP_ERRORS["absolute"])
    overall_error = validation["overall"]["metrics"].get(error, {}).get("estimate")
    for attribute, groups in validation["subgroups"].items():
        for group, perf in groups.items():
            subject = f"{attribute}={group}"
            m = perf["metrics"]
            if family == "classifier":
                finding = _at_least(
                    s, "min_group_auc_lower", "AUC lower bound", m["auc"]["low"], lim, subject
                )
            elif family == "survival":
                finding = _at_least(
                    s, "min_group_concordance_lower", "Harrell's C lower bound",
                    m["concordance"]["low"], lim, subject,
                )  # fmt: skip
            else:
                high = m.get(error, {}).get("high")
                ratio = None if high is None or not overall_error else high / overall_error
                finding = _at_most(
                    s, "max_group_mae_ratio_upper",
                    f"{error_label} upper bound / overall {error_label}", ratio, lim, subject,
                )  # fmt: skip
            out.append(finding)
    return out


def _explanation(explanation: Mapping[str, Any], limits: DossierLimits) -> list[Finding]:
    e = "explanation_checks"
    add, stab = explanation["additivity"], explanation["stability"]
    failures = int(add["failures"]) + (1 if int(add["rows_checked"]) == 0 else 0)
    unstable = int(stab["unstable"]) + (1 if int(stab["rows"]) == 0 else 0)
    checked = f"{add['rows_checked']} of {add['rows_total']} rows"
    return [
        _judged(
            e, "max_additivity_failures", float(failures), "<=",
            limits.max_additivity_failures, f"additivity failures over {checked}",
        ),
        _judged(
            e, "max_unstable_explanations", float(unstable), "<=",
            limits.max_unstable_explanations,
            f"unstable explanations over {stab['rows']} rows explained again",
        ),
    ]  # fmt: skip


def _verification(verification: Mapping[str, Any] | None, limits: DossierLimits) -> list[Finding]:
    if verification is None:
        return []
    out = [
        _judged(
            "verification", "max_verification_relative_error", check["max_relative_error"],
            "<=", limits.max_verification_relative_error,
            f"{check['name']} ({check['reference']}): largest relative error",
        )
        for check in verification["checks"]
    ]  # fmt: skip
    return out


def _change_control(change: Mapping[str, Any] | None, limits: DossierLimits) -> list[Finding]:
    if change is None:
        return []
    headline = change.get("headline")
    if not isinstance(headline, Mapping):
        return [
            _judged(
                "change_control", "non_inferiority_margin", None, ">=",
                -limits.non_inferiority_margin,
                "no comparable headline metric for the approved version: difference",
            )
        ]  # fmt: skip
    return [
        _judged(
            "change_control", "non_inferiority_margin", headline["bound"], ">=",
            -limits.non_inferiority_margin,
            f"{headline['metric']} candidate - approved v{change['approved_version']} "
            f"({headline['method']}) {headline['bound_name']}",
        )
    ]  # fmt: skip


def _at_least(
    evidence: str, key: str, label: str, value: Any, lim: Mapping[str, float], subject: str = ""
) -> Finding:
    return _judged(evidence, key, value, ">=", lim[key], label, subject or None)


def _at_most(
    evidence: str, key: str, label: str, value: Any, lim: Mapping[str, float], subject: str = ""
) -> Finding:
    return _judged(evidence, key, value, "<=", lim[key], label, subject or None)


def _within(
    evidence: str, key: str, label: str, estimate: Mapping[str, Any], lim: Mapping[str, float]
) -> Finding:
    low, high = estimate.get("low"), estimate.get("high")
    farther = None if low is None or high is None else max(abs(low), abs(high))
    return _judged(evidence, key, farther, "<=", lim[key], f"{label}, farther interval bound |x|")


def _judged(
    evidence: str,
    key: str,
    value: Any,
    op: str,
    limit: float,
    label: str,
    subject: str | None = None,
) -> Finding:
    number = None if value is None or not math.isfinite(float(value)) else float(value)
    passed = number is not None and (number >= limit if op == ">=" else number <= limit)
    who = f"{subject}: " if subject else ""
    if number is None:
        message = f"{evidence}: {who}{label} cannot be computed ({key} {op} {limit:g} unmet)"
    else:
        verdict = "meets" if passed else "fails"
        message = f"{evidence}: {who}{label} {number:.4g} {verdict} {key} {op} {limit:g}"
    return Finding(evidence, key, number, op, float(limit), passed, message, subject)
