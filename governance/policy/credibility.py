"""Credibility of a version for its context of use, in the spirit of ASME V&V 40.

``policies/credibility.toml`` says, per intended purpose, how much the twin influences
the decision and how grave a wrong decision is, maps the two to a risk level (1-5) and
lists the evidence each level requires. :func:`assess` reads the context of use from the
card, takes the highest risk over its purposes and sets the evidence required against the
evidence the dossier found. A purpose the file does not list is the highest risk (fail
closed); a missing or malformed file raises :class:`PolicyError`.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governance.errors import PolicyError
from models.card import TwinCard

CREDIBILITY_FILE = "credibility.toml"
LEVELS = ("low", "medium", "high")
#: Every evidence item a risk level may require, in the order the record lists them.
EVIDENCE_ITEMS = (
    "validation_metrics",
    "bias_audit",
    "subgroup_performance",
    "explanation_checks",
    "verification",
    "change_control",
    "clinical_evaluation",
)
HIGHEST_RISK = 5


@dataclass(frozen=True)
class PurposeRisk:
    purpose: str
    influence: str
    influence_why: str
    consequence: str
    consequence_why: str
    risk_level: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "model_influence": self.influence,
            "influence_why": self.influence_why,
            "decision_consequence": self.consequence,
            "consequence_why": self.consequence_why,
            "risk_level": self.risk_level,
        }


@dataclass(frozen=True)
class CredibilityPolicy:
    """One reading of ``credibility.toml`` and the SHA-256 of its bytes."""

    purposes: Mapping[str, Mapping[str, str]]
    risk: Mapping[tuple[str, str], int]
    evidence: Mapping[int, tuple[str, ...]]
    sha256: str

    def risk_of(self, purpose: str) -> PurposeRisk:
        entry = self.purposes.get(purpose)
        if entry is None:
            why = f"{purpose!r} is not listed in {CREDIBILITY_FILE}: treated as the highest risk"
            return PurposeRisk(purpose, "unknown", why, "unknown", why, HIGHEST_RISK)
        influence, consequence = entry["influence"], entry["consequence"]
        return PurposeRisk(
            purpose,
            influence,
            entry["influence_why"],
            consequence,
            entry["consequence_why"],
            self.risk[(influence, consequence)],
        )


@dataclass(frozen=True)
class EvidenceItem:
    """One kind of evidence: whether the risk level requires it, and what was found."""

    item: str
    required: bool
    applicable: bool
    present: bool
    passed: bool
    detail: str

    @property
    def satisfied(self) -> bool:
        return not self.required or not self.applicable or (self.present and self.passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "required": self.required,
            "applicable": self.applicable,
            "present": self.present,
            "passed": self.passed,
            "satisfied": self.satisfied,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Found:
    """What the dossier found for one evidence item (input to :func:`assess`)."""

    applicable: bool
    present: bool
    passed: bool
    detail: str


@dataclass(frozen=True)
class CredibilityRecord:
    context_of_use: dict[str, Any]
    purposes: tuple[PurposeRisk, ...]
    risk_level: int
    governing_purpose: str
    evidence: tuple[EvidenceItem, ...]
    policy_sha256: str

    @property
    def passed(self) -> bool:
        return all(e.satisfied for e in self.evidence)

    @property
    def reasons(self) -> list[str]:
        out = []
        for e in self.evidence:
            if e.satisfied:
                continue
            state = "missing" if not e.present else "not passed"
            out.append(
                f"credibility: risk level {self.risk_level} requires {e.item} ({state}: {e.detail})"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": "risk-informed credibility in the spirit of ASME V&V 40-2018",
            "context_of_use": self.context_of_use,
            "purposes": [p.to_dict() for p in self.purposes],
            "risk_level": self.risk_level,
            "governing_purpose": self.governing_purpose,
            "evidence": [e.to_dict() for e in self.evidence],
            "passed": self.passed,
            "policy_sha256": self.policy_sha256,
        }


def assess(
    policy: CredibilityPolicy, card: TwinCard, found: Mapping[str, Found]
) -> CredibilityRecord:
    """The credibility record of a version described by ``card`` given what was found."""
    risks = tuple(policy.risk_of(p) for p in card.intended_purposes)
    governing = max(risks, key=lambda r: r.risk_level)
    required = set(policy.evidence[governing.risk_level])
    items = []
    for item in EVIDENCE_ITEMS:
        got = found.get(item) or _not_held(item)
        items.append(
            EvidenceItem(
                item, item in required, got.applicable, got.present, got.passed, got.detail
            )
        )
    return CredibilityRecord(
        context_of_use=context_of_use(card),
        purposes=risks,
        risk_level=governing.risk_level,
        governing_purpose=governing.purpose,
        evidence=tuple(items),
        policy_sha256=policy.sha256,
    )


def _not_held(item: str) -> Found:
    if item == "clinical_evaluation":
        return Found(True, False, False, "twinreg holds no prospective clinical evaluation")
    return Found(True, False, False, "not computed")


def context_of_use(card: TwinCard) -> dict[str, Any]:
    """What the version is for and on whom, as its card declares it."""
    out: dict[str, Any] = {
        "intended_use": card.description,
        "outcome": card.outcome,
        "intended_purposes": list(card.intended_purposes),
        "kind": card.kind.value,
        "population_envelope": {k: [lo, hi] for k, (lo, hi) in sorted(card.envelope.items())},
        "sensitive_attributes": list(card.sensitive_attributes),
        "data_categories": list(card.data_categories),
    }
    if card.threshold is not None:
        out["threshold"] = card.threshold
    if card.horizon is not None:
        out["horizon"] = card.horizon
        out["horizon_unit"] = card.horizon_unit
    if card.kind.is_mechanistic:
        out["output"] = card.default_output
    return out


def parse_credibility(text: str) -> CredibilityPolicy:
    """Check ``credibility.toml``'s content (read with the other policy files)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{CREDIBILITY_FILE} is not valid TOML: {exc}") from exc
    try:
        purposes = {str(name): _purpose(name, entry) for name, entry in data["purposes"].items()}
        risk = {
            (influence, consequence): _level(data["risk"][influence][consequence])
            for influence in LEVELS
            for consequence in LEVELS
        }
        evidence = {
            level: tuple(str(i) for i in data["evidence"][str(level)])
            for level in range(1, HIGHEST_RISK + 1)
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise PolicyError(
            f"{CREDIBILITY_FILE} needs [purposes.*] (influence, consequence and their whys), "
            f"[risk.low|medium|high] (low, medium, high) and [evidence] 1-5: {exc!r}"
        ) from exc
    unknown = {i for items in evidence.values() for i in items} - set(EVIDENCE_ITEMS)
    if unknown:
        raise PolicyError(
            f"{CREDIBILITY_FILE}: unknown evidence {sorted(unknown)} "
            f"(known: {', '.join(EVIDENCE_ITEMS)})"
        )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return CredibilityPolicy(purposes, risk, evidence, digest)


def _purpose(name: str, entry: Any) -> dict[str, str]:
    out = {k: str(entry[k]) for k in ("influence", "influence_why", "consequence")}
    out["consequence_why"] = str(entry["consequence_why"])
    for key in ("influence", "consequence"):
        if out[key] not in LEVELS:
            raise PolicyError(f"{CREDIBILITY_FILE} [purposes.{name}] {key} must be one of {LEVELS}")
    return out


def _level(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= HIGHEST_RISK:
        raise PolicyError(f"{CREDIBILITY_FILE} [risk] levels must be whole numbers 1-5")
    return value
