"""Validation dossiers: evidence about a version, judged by ``policies/`` before approval.

The composition layer computes the evidence (held-out metrics with bootstrap intervals,
explanation checks, verification of mechanistic kernels, change control against the
approved version) and hands it over as plain data in a :class:`DossierEvidence`;
:func:`judge` holds it against ``thresholds.toml [dossier]`` (:class:`DossierLimits`)
and builds the credibility record of ``credibility.toml``. The dossier passes when every
piece of evidence its risk level requires is present and passes; findings of evidence
the level does not require are kept as advisories.

Interval criteria use the bound that makes the claim credible: a lower bound for
"at least" (``..._lower``), an upper bound for "at most" (``..._upper``), the farther
bound from zero for "within +-limit" (calibration, bias).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governance.canonical import canonical_json
from governance.errors import PolicyError
from governance.policy.credibility import CredibilityPolicy, CredibilityRecord, Found, assess
from models.card import TwinCard

FORMAT = "twinreg.validation_dossier/1"
FAMILY_KEYS: Mapping[str, tuple[str, ...]] = {
    "classifier": (
        "min_auc_lower",
        "max_brier_upper",
        "max_calibration_in_the_large",
        "min_calibration_slope",
        "max_calibration_slope",
        "min_group_auc_lower",
    ),
    "survival": (
        "min_concordance_lower",
        "min_group_concordance_lower",
        "max_calibration_difference",
    ),
    "regression": (
        "min_skill",
        "min_skill_lower",
        "max_relative_bias",
        "max_group_mae_ratio_upper",
    ),
}
#: Headline metric per family (higher is better): the one change control compares.
PRIMARY = {"classifier": "auc", "survival": "concordance", "regression": "skill"}


@dataclass(frozen=True)
class DossierLimits:
    """``thresholds.toml [dossier]``, checked (a missing or bad value is a PolicyError)."""

    table: Mapping[str, Any]
    resamples: int
    level: float
    explanation_max_rows: int
    explanation_max_rows_mechanistic: int
    stability_rows: int
    max_additivity_failures: int
    max_unstable_explanations: int
    max_verification_relative_error: float
    family: Mapping[str, Mapping[str, float]]
    non_inferiority_margin: float

    def explanation_rows(self, mechanistic: bool) -> int:
        return self.explanation_max_rows_mechanistic if mechanistic else self.explanation_max_rows


def dossier_limits(thresholds: Mapping[str, Any]) -> DossierLimits:
    table = thresholds.get("dossier")
    if not isinstance(table, Mapping):
        raise PolicyError("thresholds.toml [dossier] is required to judge validation dossiers")

    def section(name: str) -> Mapping[str, Any]:
        sub = table.get(name)
        if not isinstance(sub, Mapping):
            raise PolicyError(f"thresholds.toml [dossier.{name}] is required")
        return sub

    level = _number(table, "confidence_level", "dossier")
    if not 0.5 < level < 1.0:
        raise PolicyError("thresholds.toml [dossier] confidence_level must lie in (0.5, 1)")
    return DossierLimits(
        table=table,
        resamples=int(_number(table, "bootstrap_resamples", "dossier", minimum=20)),
        level=level,
        explanation_max_rows=int(_number(table, "explanation_max_rows", "dossier", minimum=1)),
        explanation_max_rows_mechanistic=int(
            _number(table, "explanation_max_rows_mechanistic", "dossier", minimum=1)
        ),
        stability_rows=int(_number(table, "stability_rows", "dossier", minimum=1)),
        max_additivity_failures=int(_number(table, "max_additivity_failures", "dossier")),
        max_unstable_explanations=int(_number(table, "max_unstable_explanations", "dossier")),
        max_verification_relative_error=_number(
            table, "max_verification_relative_error", "dossier"
        ),
        family={
            fam: {k: _number(section(fam), k, f"dossier.{fam}") for k in keys}
            for fam, keys in FAMILY_KEYS.items()
        },
        non_inferiority_margin=_number(
            section("change_control"), "non_inferiority_margin", "dossier.change_control"
        ),
    )


def criteria_digest(limits: DossierLimits, credibility: CredibilityPolicy) -> str:
    """Identifies the criteria a dossier is judged by: the ``[dossier]`` table and the
    bytes of ``credibility.toml``. A dossier judged by other criteria is not current."""
    text = canonical_json({"dossier": limits.table, "credibility_sha256": credibility.sha256})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DossierEvidence:
    """What the composition computed about a version, as plain JSON-ready data."""

    #: ``models.validation.ValidationReport.to_dict()``.
    validation: Mapping[str, Any]
    #: ``explain.ExplanationChecks.to_dict()``.
    explanation: Mapping[str, Any]
    #: ``models.validation.VerificationSummary.to_dict()``; ``None`` unless mechanistic.
    verification: Mapping[str, Any] | None
    #: The latest bias audit: id, passed, at, current (bool) and why; ``None`` if none.
    bias_audit: Mapping[str, Any] | None
    #: :func:`governance.validation.change_control.change_control`; ``None`` with no other approved
    #: version to compare with.
    change_control: Mapping[str, Any] | None


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


@dataclass(frozen=True)
class Judgement:
    findings: tuple[Finding, ...]
    credibility: CredibilityRecord

    @property
    def passed(self) -> bool:
        return self.credibility.passed

    def _failing(self, required: bool) -> list[str]:
        wanted = {e.item for e in self.credibility.evidence if e.required == required}
        return [f.message for f in self.findings if not f.passed and f.evidence in wanted]

    @property
    def reasons(self) -> list[str]:
        """Why the dossier fails: unmet required evidence and the findings behind it."""
        return self.credibility.reasons + self._failing(required=True)

    @property
    def advisories(self) -> list[str]:
        """Failing findings of evidence the risk level does not require."""
        return self._failing(required=False)


def judge(
    card: TwinCard,
    evidence: DossierEvidence,
    limits: DossierLimits,
    credibility: CredibilityPolicy,
) -> Judgement:
    family = str(evidence.validation["family"])
    lim = limits.family[family]
    findings = [
        *_overall(family, evidence.validation["overall"]["metrics"], lim),
        *_subgroups(family, evidence.validation, lim, card.error_scale),
        *_explanation(evidence.explanation, limits),
        *_verification(evidence.verification, limits),
        *_change_control(evidence.change_control, limits),
    ]

    def found(item: str, present: bool, detail: str, applicable: bool = True) -> Found:
        mine = [f for f in findings if f.evidence == item]
        ok = present and all(f.passed for f in mine)
        failing = [f.message for f in mine if not f.passed]
        return Found(applicable, present, ok, "; ".join(failing) if failing else detail)

    validation, explanation = evidence.validation, evidence.explanation
    groups = sum(len(g) for g in validation["subgroups"].values())
    checked = int(explanation["additivity"]["rows_checked"])
    audit = evidence.bias_audit
    change = evidence.change_control
    mechanistic = card.kind.is_mechanistic
    record = assess(
        credibility,
        card,
        {
            "validation_metrics": found(
                "validation_metrics",
                True,
                f"{validation['overall']['n']} held-out records, {family} metrics",
            ),
            "subgroup_performance": found(
                "subgroup_performance",
                groups > 0,
                f"{groups} groups of {len(validation['subgroups'])} sensitive attribute(s)"
                if groups
                else "no sensitive attribute on the card: no group can be shown to be served",
            ),
            "explanation_checks": found(
                "explanation_checks", checked > 0, f"{checked} explanations checked"
            ),
            "bias_audit": Found(
                True,
                audit is not None,
                bool(audit and audit["passed"] and audit["current"]),
                "no bias audit on file" if audit is None else str(audit["why"]),
            ),
            "verification": found(
                "verification",
                bool(evidence.verification and evidence.verification["checks"]),
                "kernels verified" if mechanistic else "not a mechanistic twin",
                applicable=mechanistic,
            ),
            "change_control": found(
                "change_control",
                change is not None,
                "no other version is approved" if change is None else str(change["summary"]),
                applicable=change is not None,
            ),
        },
    )
    return Judgement(tuple(findings), record)


def dossier_body(
    header: Mapping[str, Any], evidence: DossierEvidence, judgement: Judgement
) -> dict[str, Any]:
    """The stored body: ``header`` (model, version, validator, at, digests) and sections."""
    return {
        "format": FORMAT,
        **header,
        "passed": judgement.passed,
        "reasons": judgement.reasons,
        "advisories": judgement.advisories,
        "credibility": judgement.credibility.to_dict(),
        "findings": [f.to_dict() for f in judgement.findings],
        "validation": dict(evidence.validation),
        "explanation": dict(evidence.explanation),
        "verification": None if evidence.verification is None else dict(evidence.verification),
        "bias_audit": None if evidence.bias_audit is None else dict(evidence.bias_audit),
        "change_control": (
            None if evidence.change_control is None else dict(evidence.change_control)
        ),
    }


# -- criteria ---------------------------------------------------------------------------------
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


def _subgroups(
    family: str, validation: Mapping[str, Any], lim: Mapping[str, float], error_scale: str
) -> list[Finding]:
    """Per-group quality; regressors' error on the scale the card declares (MAE, or the
    mean absolute relative error for outputs spanning orders of magnitude)."""
    s = "subgroup_performance"
    out = []
    error, error_label = ("mare", "relative error") if error_scale == "relative" else ("mae", "MAE")
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


def _number(table: Mapping[str, Any], key: str, where: str, minimum: float = 0.0) -> float:
    value = table.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(float(value))
        or float(value) < minimum
    ):
        raise PolicyError(
            f"thresholds.toml [{where}] {key} is required: a number >= {minimum:g} "
            f"(found {value!r})"
        )
    return float(value)
