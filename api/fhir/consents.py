"""Consent -> twinreg consents, by the table of ``policies/fhir_terms.toml`` (README, FHIR).

=======================  ==============================================================
FHIR Consent             twinreg
=======================  ==============================================================
status active            one consent granted per purpose (below)
status inactive,         the consent named by ``identifier`` (system ``consent_identifier
rejected                 _system``) is withdrawn; without one, nothing changes
other statuses           refused (422, ``Consent.status``)
provision.type           ``permit`` (or absent) at the base; ``deny`` refused (422)
provision.period         ``valid_from`` / ``valid_until`` (a date: its whole day)
provision.purpose        v3 PurposeOfUse -> purpose: TREAT, ETREAT -> treatment;
                         HRESCH, CLINTRCH -> research; HQUALIMP -> quality-improvement;
                         required; another code refused (422)
provision.securityLabel  data categories by the label table; none: every category but
                         ``genomic``, which only a label naming it grants (v3 GDIS)
provision.provision[]    a ``deny`` exception: its purposes (default: all the parent's)
                         lose its labels' categories (default: all of them); a nested
                         permit, or an exception with anything else (period, actor,
                         action, class, code, data, its own nested provisions): 422
actor, action, class,    refused (422 naming the construct): twinreg consents carry
code, data, dataPeriod   none of them, so the Consent cannot be kept exactly
=======================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.consent import Consent, ConsentProvision

from api.fhir.elements import identifier_in, only, period_bound
from api.fhir.errors import Unsupported
from governance.policy.fhir_terms import FhirTerms

_SCOPES = frozenset({"patient-privacy", "treatment", "research"})
_CONSENT = (
    "status",
    "scope",
    "category",
    "patient",
    "dateTime",
    "performer",
    "organization",
    "sourceAttachment",
    "sourceReference",
    "policy",
    "policyRule",
    "verification",
    "provision",
    "identifier",
)
_WHY = "twinreg consents carry purpose, data categories and period only"


@dataclass(frozen=True)
class ConsentGrant:
    purpose: str
    categories: tuple[str, ...]
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass(frozen=True)
class ConsentTerms:
    """What one Consent does: grants, or the withdrawal of the consent it names."""

    status: str
    grants: tuple[ConsentGrant, ...]
    withdraw: str | None


def map_consent(consent: Consent, terms: FhirTerms, where: str) -> ConsentTerms:
    only(consent, _CONSENT, where, _WHY)
    _check_scope(consent, where)
    named = identifier_in(consent.identifier, terms.consent_system, f"{where}.identifier")
    if consent.status in ("inactive", "rejected"):
        return ConsentTerms(consent.status, (), named[1] if named else None)
    if consent.status != "active":
        raise Unsupported(
            f"status {consent.status!r} is not mapped: send active, inactive or rejected",
            f"{where}.status",
        )
    if named is not None:
        raise Unsupported(
            "an active Consent naming a twinreg consent would change it; a consent is granted anew",
            f"{where}.identifier[{named[0]}]",
        )
    base = consent.provision
    if base is None:
        raise Unsupported("give provision.purpose (v3 PurposeOfUse)", f"{where}.provision")
    return ConsentTerms("active", _grants(base, terms, f"{where}.provision"), None)


def _check_scope(consent: Consent, where: str) -> None:
    codes = {c.code for c in consent.scope.coding or []} if consent.scope else set()
    if codes and not codes & _SCOPES:
        raise Unsupported(f"scope must be one of {sorted(_SCOPES)}", f"{where}.scope")


def _grants(base: ConsentProvision, terms: FhirTerms, where: str) -> tuple[ConsentGrant, ...]:
    only(base, ("type", "period", "purpose", "securityLabel", "provision"), where, _WHY)
    if base.type not in (None, "permit"):
        raise Unsupported(
            "a base provision that denies is not supported: send a permit with deny exceptions",
            f"{where}.type",
        )
    purposes = _purposes(base.purpose, terms, where)
    if not purposes:
        raise Unsupported("give at least one purpose (v3 PurposeOfUse)", f"{where}.purpose")
    labelled = _categories(base.securityLabel, terms, where)
    allowed = {p: set(labelled or terms.implicit_categories) for p in purposes}
    for j, nested in enumerate(base.provision or []):
        _except(nested, allowed, terms, f"{where}.provision[{j}]")
    valid_from = valid_until = None
    if base.period is not None:
        only(base.period, ("start", "end"), f"{where}.period", _WHY)
        if base.period.start is not None:
            valid_from = period_bound(base.period.start, f"{where}.period.start", end=False)
        if base.period.end is not None:
            valid_until = period_bound(base.period.end, f"{where}.period.end", end=True)
    if valid_from and valid_until and valid_until <= valid_from:
        raise Unsupported("the period must end after it starts", f"{where}.period.end")
    return tuple(
        ConsentGrant(p, tuple(sorted(c)), valid_from, valid_until)
        for p, c in sorted(allowed.items())
        if c
    )


def _except(
    nested: ConsentProvision, allowed: dict[str, set[str]], terms: FhirTerms, where: str
) -> None:
    """A nested provision: an exception that denies its parent's purposes categories."""
    only(
        nested,
        ("type", "purpose", "securityLabel"),
        where,
        "an exception may name purposes and security labels only",
    )
    if nested.type != "deny":
        raise Unsupported(
            "a nested provision must be a deny exception to its permit", f"{where}.type"
        )
    purposes = _purposes(nested.purpose, terms, where) or list(allowed)
    denied = _categories(nested.securityLabel, terms, where) or set(terms.all_categories)
    for purpose in purposes:
        if purpose in allowed:
            allowed[purpose] -= denied


def _purposes(codings: Sequence[Coding] | None, terms: FhirTerms, where: str) -> list[str]:
    out = []
    for i, coding in enumerate(codings or []):
        purpose = (
            terms.purposes.get(str(coding.code)) if coding.system == terms.purpose_system else None
        )
        if purpose is None:
            raise Unsupported(
                f"not a mapped purpose: give a code of {terms.purpose_system} among "
                f"{sorted(terms.purposes)}",
                f"{where}.purpose[{i}]",
            )
        out.append(purpose)
    return sorted(set(out))


def _categories(codings: Sequence[Coding] | None, terms: FhirTerms, where: str) -> set[str]:
    out = set()
    for i, coding in enumerate(codings or []):
        category = terms.labels.get((str(coding.system), str(coding.code)))
        if category is None:
            known = sorted(f"{s}|{c}" for s, c in terms.labels)
            raise Unsupported(
                f"not a mapped security label; known: {known}", f"{where}.securityLabel[{i}]"
            )
        out.add(category)
    return out
