"""The observation kind table (``policies/observation_kinds.toml``): what a patient's
observation may be — its fields, UCUM units and accepted conversions, codes, physiological
bounds and data category. Parsed and checked whole; a malformed table is a
:class:`~governance.errors.PolicyError` (nothing is authorised until it is fixed).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governance.errors import PolicyError
from models.card import DATA_CATEGORIES

OBSERVATION_KINDS_FILE = "observation_kinds.toml"


@dataclass(frozen=True)
class Quantity:
    """A number in ``unit`` (UCUM), accepted in any of ``units`` (factor to ``unit``)."""

    unit: str
    units: Mapping[str, float]
    low: float
    high: float


@dataclass(frozen=True)
class Component:
    """One part of a multi-part kind: a quantity, or a time (``quantity`` None)."""

    name: str
    quantity: Quantity | None


@dataclass(frozen=True)
class ObservationKind:
    """One row of the table: exactly one of ``quantity``, ``values``, ``components``."""

    name: str
    category: str
    description: str
    codes: frozenset[str]
    quantity: Quantity | None = None
    values: frozenset[str] | None = None
    components: tuple[Component, ...] = ()


def _fail(where: str, what: str) -> PolicyError:
    return PolicyError(f"{OBSERVATION_KINDS_FILE}: {where}: {what}")


def _number(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, "must be a finite number")
    return float(value)


def _quantity(where: str, spec: Mapping[str, Any]) -> Quantity:
    unit, units, bounds = spec.get("unit"), spec.get("units"), spec.get("bounds")
    if not isinstance(unit, str) or not unit:
        raise _fail(where, "unit (UCUM) is required")
    if not isinstance(units, dict) or units.get(unit) != 1.0:
        raise _fail(where, f"units must map each accepted unit to its factor, {unit!r} to 1")
    factors = {str(k): _number(f"{where}.units.{k}", v) for k, v in units.items()}
    if any(f <= 0.0 for f in factors.values()):
        raise _fail(where, "unit factors must be positive")
    if not isinstance(bounds, list) or len(bounds) != 2:
        raise _fail(where, "bounds must be [low, high]")
    low, high = (_number(f"{where}.bounds", b) for b in bounds)
    if not low < high:
        raise _fail(where, "bounds must have low < high")
    return Quantity(unit, factors, low, high)


def _components(where: str, spec: object) -> tuple[Component, ...]:
    if not isinstance(spec, dict) or not spec:
        raise _fail(where, "components must name at least one component")
    parts = []
    for name, part in spec.items():
        if not isinstance(part, dict):
            raise _fail(f"{where}.{name}", "must be a table")
        if part.get("type") == "time":
            parts.append(Component(str(name), None))
        else:
            parts.append(Component(str(name), _quantity(f"{where}.{name}", part)))
    return tuple(parts)


def _kind(name: str, spec: object) -> ObservationKind:
    where = f"kinds.{name}"
    if not isinstance(spec, dict):
        raise _fail(where, "must be a table")
    category, codes = spec.get("category"), spec.get("codes", [])
    if category not in DATA_CATEGORIES:
        raise _fail(where, f"category must be one of {sorted(DATA_CATEGORIES)}")
    if not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes):
        raise _fail(where, "codes must be a list of strings")
    shapes = [k for k in ("unit", "values", "components") if k in spec]
    if len(shapes) != 1:
        raise _fail(where, "give exactly one of unit (a quantity), values or components")
    values = spec.get("values")
    if "values" in spec and (
        not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values)
    ):
        raise _fail(where, "values must be a non-empty list of strings")
    return ObservationKind(
        name=name,
        category=str(category),
        description=str(spec.get("description", "")),
        codes=frozenset(codes),
        quantity=_quantity(where, spec) if "unit" in spec else None,
        values=frozenset(values) if isinstance(values, list) else None,
        components=_components(f"{where}.components", spec["components"])
        if "components" in spec
        else (),
    )


def parse_observation_kinds(text: str) -> Mapping[str, ObservationKind]:
    """The table, by kind name; :class:`PolicyError` naming the first fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{OBSERVATION_KINDS_FILE} is not valid TOML: {exc}") from exc
    kinds = data.get("kinds")
    if not isinstance(kinds, dict) or not kinds:
        raise _fail("kinds", "the table must list at least one [kinds.<name>]")
    return {str(name): _kind(str(name), spec) for name, spec in kinds.items()}
