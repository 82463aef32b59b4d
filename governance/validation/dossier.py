"""Validation dossiers: evidence about a version, judged by ``policies/`` before approval.

The composition layer computes the evidence (held-out metrics with bootstrap intervals,
explanation checks, verification of mechanistic kernels, change control against the
approved version) and hands it over as plain data in a :class:`DossierEvidence`;
:func:`judge` holds it against ``thresholds.toml [dossier]``
(:class:`~governance.validation.dossier_limits.DossierLimits`), one
:class:`~governance.validation.dossier_findings.Finding` per criterion, and builds the
credibility record of ``credibility.toml``. The dossier passes when every piece of
evidence its risk level requires is present and passes; findings of evidence the level
does not require are kept as advisories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governance.policy.credibility import CredibilityPolicy, CredibilityRecord, Found, assess
from governance.validation.dossier_findings import Finding, criteria_findings
from governance.validation.dossier_limits import DossierLimits
from models.card import TwinCard

FORMAT = "twinreg.validation_dossier/1"


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
    findings = criteria_findings(
        evidence.validation,
        evidence.explanation,
        evidence.verification,
        evidence.change_control,
        limits,
        card.error_scale,
    )

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
