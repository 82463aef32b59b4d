"""Helpers over validated FHIR elements: what a resource may carry, identifiers, times."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.reference import Reference

from api.fhir.errors import Unsupported

#: Elements every resource may carry without changing what it says to twinreg.
NEUTRAL = frozenset(
    {
        "id",
        "meta",
        "text",
        "extension",
        "fhir_comments",
        "implicitRules",
        "language",
        "resource_type",
    }
)


def present(element: Any) -> list[str]:
    """The names of the elements ``element`` carries (primitive extensions excluded)."""
    names = []
    for name in sorted(element.model_fields_set):
        if name.endswith("__ext") or getattr(element, name, None) in (None, []):
            continue
        names.append(name)
    return names


def only(element: Any, allowed: Iterable[str], where: str, why: str) -> None:
    """Refuse (422 naming it) the first element ``element`` carries beyond ``allowed``."""
    permitted = NEUTRAL | set(allowed)
    for name in present(element):
        if name == "modifierExtension":
            raise Unsupported(
                "a modifier extension changes the meaning: not supported",
                f"{where}.modifierExtension",
            )
        if name not in permitted:
            raise Unsupported(f"{name} is not supported here: {why}", f"{where}.{name}")


def no_modifiers(element: Any, where: str) -> None:
    """Refuse a modifier extension (its meaning cannot be ignored, FHIR says)."""
    if getattr(element, "modifierExtension", None):
        raise Unsupported(
            "a modifier extension changes the meaning: not supported", f"{where}.modifierExtension"
        )


def identifier_in(
    identifiers: Sequence[Identifier] | None, system: str, where: str
) -> tuple[int, str] | None:
    """(index, value) of the identifier of ``system``, if any."""
    for i, ident in enumerate(identifiers or []):
        if ident.system == system:
            if not ident.value:
                raise Unsupported(f"an identifier of {system} needs a value", f"{where}[{i}].value")
            return i, str(ident.value)
    return None


def reference_identifier(reference: Reference | None, system: str, where: str) -> str | None:
    """The value of ``reference.identifier`` of ``system`` (None without an identifier)."""
    if reference is None or reference.identifier is None:
        return None
    ident = reference.identifier
    if ident.system != system or not ident.value:
        raise Unsupported(
            f"name it by identifier {{system: {system!r}, value}}", f"{where}.identifier"
        )
    return str(ident.value)


def moment(value: object, where: str) -> datetime:
    """A dateTime with its time and zone (a date alone does not say when)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    raise Unsupported("give the date-time with its time and zone", where)


def period_bound(value: object, where: str, end: bool) -> datetime:
    """A Period bound: a date-time, or a date (its start, or the day after it for an end:
    a date includes its whole day)."""
    if isinstance(value, datetime):
        return moment(value, where)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time(), tzinfo=UTC)
    raise Unsupported("give a date or a date-time with its zone", where)
