"""The FHIR term map (``policies/fhir_terms.toml``): how FHIR R4 codes name twinreg's
purposes, data categories, observation kinds and components, and which identifier systems
carry the pseudonymous patient id, the site and a consent id. Parsed and checked whole
(against the purposes of ``ethics.toml`` and the kind table); a malformed map is a
:class:`~governance.errors.PolicyError` (nothing is authorised until it is fixed).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

from governance.errors import PolicyError
from governance.policy.observation_kinds import ObservationKind
from models.card import DATA_CATEGORIES

FHIR_TERMS_FILE = "fhir_terms.toml"
_SYSTEMS = (
    "patient_identifier_system",
    "site_identifier_system",
    "consent_identifier_system",
    "loinc_system",
    "local_code_system",
    "ucum_system",
)

#: A coding: (system, code).
Coding = tuple[str, str]


@dataclass(frozen=True)
class FhirTerms:
    patient_system: str
    site_system: str
    consent_system: str
    loinc_system: str
    local_code_system: str
    ucum_system: str
    purpose_system: str
    #: v3 PurposeOfUse code -> twinreg purpose.
    purposes: Mapping[str, str]
    #: security label -> data category.
    labels: Mapping[Coding, str]
    #: categories a Consent covers only when a label names them (genomic).
    explicit_only: frozenset[str]
    #: kind -> component code -> component name.
    components: Mapping[str, Mapping[str, str]]
    #: medication coding -> the kind of its dose.
    medications: Mapping[Coding, str]

    @property
    def implicit_categories(self) -> frozenset[str]:
        """What a Consent without security labels covers."""
        return frozenset(DATA_CATEGORIES - self.explicit_only)

    @property
    def all_categories(self) -> frozenset[str]:
        """What an exception without security labels denies."""
        return frozenset(DATA_CATEGORIES)


def _fail(where: str, what: str) -> PolicyError:
    return PolicyError(f"{FHIR_TERMS_FILE}: {where}: {what}")


def _text(where: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, "must be a non-empty string")
    return value


def _codings(where: str, rows: object, target: str, allowed: Set[str]) -> dict[Coding, str]:
    if not isinstance(rows, list):
        raise _fail(where, "must be a list of tables")
    out: dict[Coding, str] = {}
    for i, row in enumerate(rows):
        at = f"{where}[{i}]"
        if not isinstance(row, dict):
            raise _fail(at, "must be a table")
        coding = (_text(f"{at}.system", row.get("system")), _text(f"{at}.code", row.get("code")))
        value = _text(f"{at}.{target}", row.get(target))
        if value not in allowed:
            raise _fail(f"{at}.{target}", f"must be one of {sorted(allowed)}")
        if coding in out:
            raise _fail(at, f"{coding} is listed twice")
        out[coding] = value
    return out


def _purposes(data: Mapping[str, Any], purposes: Set[str]) -> tuple[str, dict[str, str]]:
    table = data.get("purposes")
    if not isinstance(table, dict) or not isinstance(table.get("codes"), dict):
        raise _fail("purposes", "needs system and [purposes.codes]")
    codes = {str(k): _text(f"purposes.codes.{k}", v) for k, v in table["codes"].items()}
    unknown = sorted(set(codes.values()) - set(purposes))
    if unknown:
        raise _fail("purposes.codes", f"{unknown} are not purposes of ethics.toml")
    return _text("purposes.system", table.get("system")), codes


def _components(
    data: Mapping[str, Any], kinds: Mapping[str, ObservationKind]
) -> dict[str, dict[str, str]]:
    table = data.get("components", {})
    if not isinstance(table, dict):
        raise _fail("components", "must be a table per kind")
    out: dict[str, dict[str, str]] = {}
    for kind, codes in table.items():
        known = kinds.get(kind)
        if known is None or not isinstance(codes, dict):
            raise _fail(f"components.{kind}", "must be a kind with components, code = name")
        names = {c.name for c in known.components}
        bad = sorted(set(codes.values()) - names)
        if bad:
            raise _fail(f"components.{kind}", f"{bad} are not components of {kind}")
        out[str(kind)] = {str(code): str(name) for code, name in codes.items()}
    return out


def parse_fhir_terms(
    text: str, purposes: Set[str], kinds: Mapping[str, ObservationKind]
) -> FhirTerms:
    """The map, checked against the purposes and kinds in force; :class:`PolicyError`
    naming the first fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{FHIR_TERMS_FILE} is not valid TOML: {exc}") from exc
    systems = {name: _text(name, data.get(name)) for name in _SYSTEMS}
    purpose_system, purpose_codes = _purposes(data, purposes)
    explicit = data.get("explicit_only", [])
    if not isinstance(explicit, list) or not set(explicit) <= DATA_CATEGORIES:
        raise _fail("explicit_only", f"must list categories of {sorted(DATA_CATEGORIES)}")
    return FhirTerms(
        patient_system=systems["patient_identifier_system"],
        site_system=systems["site_identifier_system"],
        consent_system=systems["consent_identifier_system"],
        loinc_system=systems["loinc_system"],
        local_code_system=systems["local_code_system"],
        ucum_system=systems["ucum_system"],
        purpose_system=purpose_system,
        purposes=purpose_codes,
        labels=_codings("labels", data.get("labels", []), "category", DATA_CATEGORIES),
        explicit_only=frozenset(explicit),
        components=_components(data, kinds),
        medications=_codings("medications", data.get("medications", []), "kind", set(kinds)),
    )
