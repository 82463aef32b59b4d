"""Request bodies of the research routes, read after the caller's role was checked (so a
role that may not ask is refused before its body is looked at): JSON objects whose
faults are :class:`~governance.errors.InvalidInput` naming the field (``arms[1].regimen.
interval_h``), nothing stored."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from governance.errors import InvalidInput

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def _no_constant(value: str) -> float:
    raise ValueError(f"{value} is not a JSON number; send finite numbers")


def decode(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, else :class:`InvalidInput` saying what to send."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"the body is not a JSON object: {exc}", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    return data


def only(data: Mapping[str, Any], allowed: set[str], where: str = "") -> None:
    """Refuse keys outside ``allowed`` (naming the first)."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        field = f"{where}.{unknown[0]}" if where else unknown[0]
        raise InvalidInput(
            f"{field} is not a field here (fields: {', '.join(sorted(allowed))})", field=field
        )


def text(data: Mapping[str, Any], key: str, where: str = "", *, pattern: bool = False) -> str:
    """A required string field (a cohort name or model name: ``pattern``)."""
    field = f"{where}.{key}" if where else key
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} is required: a non-empty string", field=field)
    if len(value) > 128:
        raise InvalidInput(f"{field} is longer than 128 characters", field=field)
    if pattern and not _NAME.fullmatch(value):
        raise InvalidInput(
            f"{field}: 1 to 64 characters of a-z, 0-9, '.', '_' and '-', beginning with a "
            "letter or a digit",
            field=field,
        )
    return value


def optional_text(data: Mapping[str, Any], key: str) -> str | None:
    if data.get(key) is None:
        return None
    return text(data, key)


def mapping(data: Mapping[str, Any], key: str, where: str = "") -> dict[str, Any]:
    field = f"{where}.{key}" if where else key
    value = data.get(key)
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} is required: a JSON object", field=field)
    return value
