"""The observation schema: one entry of ``POST /v1/patients/{id}/observations``, checked
against the kind table and brought to its stored units.

An entry: ``id`` and ``source`` (with the patient, the idempotency key), ``kind`` (a row
of ``policies/observation_kinds.toml``), ``time`` (RFC 3339 with a zone), then ``value``
and ``unit`` (a quantity), ``value`` alone (a coded kind), or ``components`` (each a
``{"value", "unit"}`` or an RFC 3339 time); optional ``code`` (one of the kind's codes).
Every fault is an :class:`~governance.errors.InvalidInput` naming the entry and field
(``observations[2].unit``): an out-of-bounds value, an unknown or unconvertible unit, a
time without a zone, an unknown kind or code, a missing or extra field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governance.errors import InvalidInput
from governance.policy.observation_kinds import ObservationKind, Quantity

MAX_OBSERVATIONS = 500
_ID_FIELDS = ("id", "source")
_ALLOWED = frozenset({"id", "source", "kind", "time", "value", "unit", "components", "code"})


@dataclass(frozen=True)
class Entry:
    """A checked observation, in stored units: ``value`` a number (quantity), a string
    (coded), or None with ``components`` (name -> number, or RFC 3339 time text)."""

    id: str
    source: str
    kind: str
    category: str
    time: datetime
    value: float | str | None
    unit: str | None
    components: Mapping[str, float | str]
    code: str | None

    def content(self) -> dict[str, Any]:
        """What the entry says, canonical (the idempotency check compares this)."""
        return {
            "id": self.id,
            "source": self.source,
            "kind": self.kind,
            "time": self.time.isoformat(),
            "value": self.value,
            "unit": self.unit,
            "components": dict(sorted(self.components.items())),
            "code": self.code,
        }


def _bad(where: str, field: str, what: str) -> InvalidInput:
    return InvalidInput(f"{where}.{field}: {what}", field=f"{where}.{field}")


def parse_time(where: str, field: str, value: object) -> datetime:
    """An RFC 3339 date-time with a zone (``Z`` or an offset)."""
    if not isinstance(value, str) or "T" not in value.upper():
        raise _bad(where, field, "must be an RFC 3339 date-time with a zone")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise _bad(where, field, "must be an RFC 3339 date-time with a zone") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _bad(where, field, "must carry a zone (Z or an offset such as +01:00)")
    return parsed


def _text(where: str, field: str, value: object, limit: int = 128) -> str:
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise _bad(where, field, f"must be 1-{limit} printable characters")
    return value


def _convert(where: str, field: str, quantity: Quantity, value: object, unit: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(where, f"{field}value", "must be a finite number")
    if not isinstance(unit, str):
        raise _bad(where, f"{field}unit", f"is required (UCUM; {quantity.unit!r} is stored)")
    factor = quantity.units.get(unit)
    if factor is None:
        raise _bad(
            where,
            f"{field}unit",
            f"{unit!r} is unknown or cannot be converted to {quantity.unit!r}; "
            f"accepted: {sorted(quantity.units)}",
        )
    stored = float(value) * factor
    if not quantity.low <= stored <= quantity.high:
        raise _bad(
            where,
            f"{field}value",
            f"outside the physiological bounds [{quantity.low:g}, {quantity.high:g}] "
            f"{quantity.unit}",
        )
    return stored


def _components(where: str, kind: ObservationKind, given: object) -> dict[str, float | str]:
    if not isinstance(given, dict):
        raise _bad(where, "components", f"{kind.name} needs components")
    names = {c.name for c in kind.components}
    extra = sorted(set(given) - names)
    if extra:
        raise _bad(where, f"components.{extra[0]}", f"is not a component of {kind.name}")
    out: dict[str, float | str] = {}
    for component in kind.components:
        field = f"components.{component.name}"
        if component.name not in given:
            raise _bad(where, field, "is required")
        part = given[component.name]
        if component.quantity is None:
            out[component.name] = parse_time(where, field, part).isoformat()
            continue
        if not isinstance(part, dict) or set(part) - {"value", "unit"}:
            raise _bad(where, field, 'must be {"value": number, "unit": UCUM}')
        quantity = component.quantity
        out[component.name] = _convert(
            where, f"{field}.", quantity, part.get("value"), part.get("unit")
        )
    return out


def check_entry(
    index: int, raw: object, kinds: Mapping[str, ObservationKind]
) -> tuple[Entry, ObservationKind]:
    """Entry ``index`` checked against the table (``InvalidInput`` naming the field)."""
    where = f"observations[{index}]"
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be an object", field=where)
    extra = sorted(set(raw) - _ALLOWED)
    if extra:
        raise _bad(where, extra[0], "is not a field of an observation")
    ident, source = (_text(where, f, raw.get(f)) for f in _ID_FIELDS)
    kind = kinds.get(raw.get("kind"))  # type: ignore[arg-type]
    if kind is None:
        raise _bad(where, "kind", f"must be one of {sorted(kinds)}")
    time = parse_time(where, "time", raw.get("time"))
    code = raw.get("code")
    if code is not None and code not in kind.codes:
        raise _bad(where, "code", f"must be one of {sorted(kind.codes)} for {kind.name}")
    value: float | str | None = None
    unit: str | None = None
    components: dict[str, float | str] = {}
    shape = {"value", "unit", "components"} & set(raw)
    if kind.components:
        if shape != {"components"}:
            raise _bad(where, "components", f"{kind.name} takes components, not value/unit")
        components = _components(where, kind, raw["components"])
    elif kind.values is not None:
        if shape != {"value"} or raw["value"] not in kind.values:
            raise _bad(where, "value", f"must be one of {sorted(kind.values)} (no unit)")
        value = str(raw["value"])
    else:
        assert kind.quantity is not None
        if "components" in shape:
            raise _bad(where, "components", f"{kind.name} takes value and unit")
        value = _convert(where, "", kind.quantity, raw.get("value"), raw.get("unit"))
        unit = kind.quantity.unit
    entry = Entry(ident, source, kind.name, kind.category, time, value, unit, components, code)
    return entry, kind


def check_entries(raw: object, kinds: Mapping[str, ObservationKind]) -> list[Entry]:
    """Every entry checked (the first fault refuses the whole request); one key once."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise InvalidInput("observations must be a list", field="observations")
    if not 1 <= len(raw) <= MAX_OBSERVATIONS:
        raise InvalidInput(f"give 1 to {MAX_OBSERVATIONS} observations", field="observations")
    entries = [check_entry(i, item, kinds)[0] for i, item in enumerate(raw)]
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(entries):
        first = seen.setdefault((entry.source, entry.id), i)
        if first != i and entries[first].content() != entry.content():
            raise _bad(
                f"observations[{i}]", "id", f"repeats observations[{first}] with other content"
            )
    return entries
