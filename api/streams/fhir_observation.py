"""The FHIR Observation shapes a device sends, mapped to the patient-twins observation
schema (:mod:`governance.twins.entries`). A small, documented subset (FHIR R4):

- ``resourceType`` ``Observation``; ``status`` ``final``, ``amended`` or ``corrected``;
- ``identifier``: the reading's id (the first identifier with a ``value``), which with
  the device makes the idempotency key;
- ``code.coding``: a coding of system ``http://loinc.org`` (or ``urn:twinreg:code`` for a
  local code of the kind table) naming exactly one quantity kind of
  ``policies/observation_kinds.toml`` (CGM glucose 99504-3 / 105272-9, ...);
- ``effectiveDateTime`` (or ``effectiveInstant``): when it was measured, with a zone;
- ``valueQuantity``: ``value``, ``system`` ``http://unitsofmeasure.org`` and ``code`` the
  UCUM unit (``unit`` is display text only).

Also allowed and ignored: ``id``, ``meta``, ``category``, ``issued``, ``device``, ``note``.
Anything else (components, other value types, a ``subject``...) is refused naming it: a
device names no patient, its binding does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.errors import InvalidInput
from governance.policy.observation_kinds import ObservationKind

LOINC = "http://loinc.org"
LOCAL = "urn:twinreg:code"
UCUM = "http://unitsofmeasure.org"
STATUSES = frozenset({"final", "amended", "corrected"})
_IGNORED = frozenset({"resourceType", "id", "meta", "category", "issued", "device", "note"})
_USED = frozenset(
    {"identifier", "status", "code", "effectiveDateTime", "effectiveInstant", "valueQuantity"}
)


def _bad(field: str, what: str) -> InvalidInput:
    return InvalidInput(f"Observation.{field}: {what}", field=f"Observation.{field}")


def _identifier(resource: Mapping[str, Any]) -> str:
    given = resource.get("identifier")
    if isinstance(given, list):
        for item in given:
            if isinstance(item, dict) and isinstance(item.get("value"), str) and item["value"]:
                return str(item["value"])
    raise _bad("identifier", "give the reading's id as identifier[0].value")


def _kind(resource: Mapping[str, Any], kinds: Mapping[str, ObservationKind]) -> tuple[str, str]:
    coding = (
        resource.get("code", {}).get("coding") if isinstance(resource.get("code"), dict) else None
    )
    if not isinstance(coding, list):
        raise _bad("code.coding", "a list of codings is required")
    found: set[tuple[str, str]] = set()
    for c in coding:
        if not isinstance(c, dict) or c.get("system") not in (LOINC, LOCAL):
            continue
        code = c.get("code")
        found |= {(k.name, str(code)) for k in kinds.values()
                  if k.quantity is not None and code in k.codes}  # fmt: skip
    if len(found) != 1:
        what = "names none" if not found else f"names several ({sorted(k for k, _ in found)})"
        raise _bad(
            "code.coding",
            f"{what} of the quantity kinds of the observation kind table; give one LOINC "
            f"({LOINC}) code of one kind",
        )
    return found.pop()


def _quantity(resource: Mapping[str, Any]) -> tuple[object, object]:
    quantity = resource.get("valueQuantity")
    if not isinstance(quantity, dict):
        raise _bad("valueQuantity", "is required (value, system, code)")
    if quantity.get("system") != UCUM:
        raise _bad("valueQuantity.system", f"must be {UCUM} (the unit is a UCUM code)")
    return quantity.get("value"), quantity.get("code")


def observation_entry(
    resource: Mapping[str, Any], source: str, kinds: Mapping[str, ObservationKind]
) -> dict[str, Any]:
    """The observation-schema entry of ``resource`` from ``source`` (not yet checked
    against the kind table: :func:`governance.twins.entries.check_entry` does that)."""
    extra = sorted(set(resource) - _IGNORED - _USED)
    if extra:
        raise _bad(extra[0], "is not supported from a device (see the README's device streams)")
    if resource.get("status") not in STATUSES:
        raise _bad("status", f"must be one of {sorted(STATUSES)}")
    kind, code = _kind(resource, kinds)
    time = resource.get("effectiveDateTime", resource.get("effectiveInstant"))
    if time is None:
        raise _bad("effectiveDateTime", "is required (RFC 3339 with a zone)")
    value, unit = _quantity(resource)
    return {"id": _identifier(resource), "source": source, "kind": kind, "time": time,
            "value": value, "unit": unit, "code": code}  # fmt: skip
