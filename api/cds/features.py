"""A statistical twin's features from FHIR resources, as ``policies/cds_feature_codes.toml``
maps them (its header says how each source is read), or from the patient's observations
twinreg holds (``held``). A feature without a value is *missing*, with why: nothing is
guessed, defaulted or imputed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation

from api.cds.fhir_input import ClinicalFacts
from governance.policy.feature_codes import Code, FeatureSource

FINAL_STATUSES = frozenset({"final", "amended", "corrected"})
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})


@dataclass
class FeatureValues:
    values: dict[str, float] = field(default_factory=dict)
    #: feature -> why it has no value
    missing: dict[str, str] = field(default_factory=dict)
    #: feature -> where its value came from (EHR-provided text: escape it before markdown)
    sources: dict[str, str] = field(default_factory=dict)


def _tokens(codeable: Any) -> set[str]:
    return {f"{c.system}|{c.code}" for c in (getattr(codeable, "coding", None) or [])}


def _codes_of(codeable: Any) -> set[str]:
    """The bare codes of a CodeableConcept (a status: its system is implied)."""
    return {str(c.code) for c in (getattr(codeable, "coding", None) or [])}


def _wanted(codes: Iterable[Code]) -> set[str]:
    return {c.token() for c in codes}


def _when(obs: Observation) -> datetime:
    for value in (obs.effectiveDateTime, obs.effectiveInstant,
                  getattr(obs.effectivePeriod, "end", None), obs.issued):  # fmt: skip
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)


def _quantities(obs: Observation, wanted: set[str]) -> list[Any]:
    """The valueQuantity of ``obs`` if its code is wanted, and its wanted components'."""
    found = []
    if _tokens(obs.code) & wanted and obs.valueQuantity is not None:
        found.append(obs.valueQuantity)
    for component in obs.component or []:
        if _tokens(component.code) & wanted and component.valueQuantity is not None:
            found.append(component.valueQuantity)
    return found


def _convert(spec: FeatureSource, quantity: Any) -> tuple[float | None, str]:
    unit = quantity.code or quantity.unit
    if quantity.value is None or unit not in spec.units:
        return None, f"unit {unit!r} is not one of {sorted(spec.units)}"
    value = float(quantity.value) * spec.units[unit]
    if spec.transform == "ln":
        if value <= 0:
            return None, "a logarithm needs a positive value"
        value = math.log(value)
    return value, ""


def _from_observations(spec: FeatureSource, observations: Sequence[Observation]) -> tuple[
    float | None, str
]:  # fmt: skip
    wanted = _wanted(spec.codes)
    candidates = [o for o in observations if o.status in FINAL_STATUSES and _quantities(o, wanted)]
    if not candidates:
        codes = ", ".join(c.code for c in spec.codes)
        return None, f"no final Observation coded {codes} was prefetched"
    latest = max(candidates, key=_when)
    value, why = _convert(spec, _quantities(latest, wanted)[0])
    if value is None:
        return None, why
    return value, f"Observation {latest.id or ''} of {_when(latest).date().isoformat()}"


def _age(birth: object, today: date) -> float | None:
    if not isinstance(birth, date):
        return None
    return float(today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day)))


def _condition_value(spec: FeatureSource, conditions: Sequence[Condition]) -> tuple[
    float | None, str
]:  # fmt: skip
    present, absent = _wanted(spec.present), _wanted(spec.absent)
    said: set[float] = set()
    for c in conditions:
        if _codes_of(c.verificationStatus) & IGNORED_VERIFICATION:
            continue
        clinical = _codes_of(c.clinicalStatus)
        if not spec.history and clinical and not clinical & ACTIVE_CLINICAL:
            continue
        codes = _tokens(c.code)
        if codes & present:
            said.add(1.0)
        elif codes & absent:
            said.add(0.0)
    if 1.0 in said:
        return 1.0, "a Condition on the problem list"
    if 0.0 in said:
        return 0.0, "a Condition coding the other value"
    if spec.absence is not None:
        return spec.absence, "not on the prefetched problem list"
    return None, "no Condition says either value"


def _one(spec: FeatureSource, facts: ClinicalFacts, today: date) -> tuple[float | None, str]:
    if spec.source == "none":
        return None, str(spec.reason)
    if spec.source == "patient_gender":
        gender = getattr(facts.patient, "gender", None)
        if facts.patient is None:
            return None, "no Patient was prefetched"
        if not isinstance(gender, str) or gender not in spec.values:
            return None, f"Patient.gender is not one of {sorted(spec.values)}"
        return spec.values[gender], "Patient.gender"
    if spec.source == "patient_age":
        age = _age(getattr(facts.patient, "birthDate", None), today)
        if age is not None:
            return age, "Patient.birthDate"
        if facts.observations is None:
            return None, "no Patient with a birth date and no Observations were prefetched"
        return _from_observations(spec, facts.observations)
    if spec.source == "condition":
        if facts.conditions is None:
            return None, "no conditions were prefetched"
        return _condition_value(spec, facts.conditions)
    if facts.observations is None:
        return None, "no observations were prefetched"
    return _from_observations(spec, facts.observations)


def from_prefetch(
    names: Sequence[str],
    specs: Mapping[str, FeatureSource],
    facts: ClinicalFacts,
    today: date | None = None,
) -> FeatureValues:
    """The card's features ``names`` from the prefetched resources."""
    out = FeatureValues()
    day = today or datetime.now(UTC).date()
    for name in names:
        spec = specs.get(name)
        value, why = (
            (None, "not in the CDS feature map") if spec is None else _one(spec, facts, day)
        )
        if value is None:
            out.missing[name] = why
        else:
            out.values[name], out.sources[name] = value, why
    return out


def _held_time(entry: Mapping[str, Any]) -> datetime:
    """A held observation's time (stored RFC 3339 with its zone), comparable across zones."""
    when = datetime.fromisoformat(str(entry["time"]))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def from_held(
    names: Sequence[str], specs: Mapping[str, FeatureSource], entries: Sequence[Mapping[str, Any]]
) -> FeatureValues:
    """The card's features from twinreg's own observations (``entries``: their bodies, in
    stored units), the latest of each kind: for features whose map names a ``held`` kind."""
    out = FeatureValues()
    for name in names:
        spec = specs.get(name)
        if spec is None or spec.held is None:
            out.missing[name] = "twinreg holds no observation kind for it (no prefetch was sent)"
            continue
        kind, _, part = spec.held.partition(".")
        found = sorted((e for e in entries if e.get("kind") == kind), key=_held_time)
        raw = None
        if found:
            latest = found[-1]
            raw = (latest.get("components") or {}).get(part) if part else latest.get("value")
        value = spec.values.get(raw) if isinstance(raw, str) else raw
        if not isinstance(value, int | float) or isinstance(value, bool):
            out.missing[name] = f"twinreg holds no {spec.held} observation (no prefetch was sent)"
            continue
        out.values[name] = float(value)
        out.sources[name] = f"twinreg observation {kind} of {str(found[-1]['time'])[:10]}"
    return out
