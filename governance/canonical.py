"""Canonical JSON: the one byte-exact text form that audit records are hashed in.

Rules (changing any of them breaks every existing chain; ``docs/audit-format.md`` states
them for implementers in other languages, with the float layout spelled out — the form is
*not* RFC 8785: strings are escaped as there, but floats and key order differ):

- objects with ``str`` keys only, keys sorted by code point; arrays from lists and tuples;
- compact separators ``,`` and ``:``, UTF-8 text (``ensure_ascii=False``): only ``"``,
  ``\\`` and the characters below U+0020 are escaped (``\\b \\t \\n \\f \\r``, else
  ``\\u00xx`` in lowercase hex); lone surrogates are rejected;
- ``None``, ``bool``, ``int`` (any size), ``str`` as JSON; finite ``float`` as
  ``float.__repr__`` (shortest round-trip digits; NaN and infinities are rejected);
- timezone-aware ``datetime`` as an ISO 8601 UTC string with microseconds,
  e.g. ``2026-11-23T19:58:01.123456Z`` (naive datetimes are rejected);
- nothing else: any other type (``Decimal``, ``numpy.int64``, ``set``, ``bytes``, ...) is
  rejected with :class:`NotCanonical` naming where it sits, so that nobody has to guess
  how a value was written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from governance.errors import InvalidInput

_DUMPS = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


class NotCanonical(InvalidInput):
    """A value cannot be written as canonical JSON; ``field`` is its path (``$.a[2]``)."""


def iso_utc(value: datetime) -> str:
    """``2026-11-23T19:58:01.123456Z`` for a timezone-aware datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NotCanonical("a datetime must be timezone-aware (UTC is assumed nowhere)")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (see the module docstring for the rules)."""
    try:
        plain = _plain(value)
    except _BadValueError as bad:
        path = "$" + "".join(reversed(bad.where))
        raise NotCanonical(f"{path}: {bad.reason}", field=path) from None
    text = _DUMPS(plain)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotCanonical(f"a string is not valid Unicode text: {exc.reason}") from exc
    return text


class _BadValueError(Exception):
    """Internal: why a value is not canonical; ``where`` collects the path, innermost first."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.where: list[str] = []


def _plain(value: Any) -> Any:
    """``value`` rebuilt from exact JSON types, else :class:`_BadValueError` (exact types first)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _BadValueError(f"{value!r} is not a finite number")
        return value
    if kind is dict or isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                if not isinstance(key, str):
                    raise _BadValueError(
                        f"object keys must be strings, not {type(key).__name__} ({key!r})"
                    )
                key = str.__str__(key)
            try:
                out[key] = _plain(item)
            except _BadValueError as bad:
                bad.where.append(f".{key}")
                raise
        return out
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        items: list[Any] = []
        for i, item in enumerate(value):
            try:
                items.append(_plain(item))
            except _BadValueError as bad:
                bad.where.append(f"[{i}]")
                raise
        return items
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):  # int subclasses (IntEnum); bool is handled above
        return int(value)
    if isinstance(value, float):  # float subclasses (numpy.float64)
        return _plain(float(value))
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _BadValueError("a datetime must be timezone-aware (UTC is assumed nowhere)")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise _BadValueError(
        f"values of type {type(value).__name__} are not allowed in an audit record "
        "(use None, bool, int, finite float, str, aware datetime, list or str-keyed dict)"
    )
