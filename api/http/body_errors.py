"""What to fix in a request body the JSON decoder refused.

msgspec, which decodes bodies, says only "JSON is malformed: invalid character (byte 71)"
for ``NaN`` or ``Infinity`` and "Number out of range" for ``1e400``. This module reads the
same bytes again with the standard library's lenient parser to name the field holding the
non-finite number, or the line and column where the JSON breaks.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BodyError:
    detail: str
    field: str | None = None


def explain(body: bytes) -> BodyError | None:
    """The refused body's fault, or None when the standard library sees none either."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return BodyError("the body is not UTF-8 text; send a JSON object encoded in UTF-8")
    if text.startswith("\ufeff"):
        return BodyError("the body starts with a byte order mark; send UTF-8 JSON without one")
    try:
        parsed = json.loads(text)
        field = _non_finite(parsed, "")
    except json.JSONDecodeError as exc:
        return BodyError(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
            "send a JSON object"
        )
    except RecursionError:
        return BodyError("the body is nested too deeply; send the request's flat JSON object")
    if field is None:
        return None
    return BodyError(
        f"{field} must be a finite number: NaN, Infinity and numbers beyond ±1.8e308 are "
        "not numbers a twin can take",
        field,
    )


def _non_finite(value: Any, path: str) -> str | None:
    """The dotted path of the first non-finite number in ``value``, if any."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "the body")
    if isinstance(value, dict):
        children = [(f"{path}.{key}" if path else str(key), v) for key, v in value.items()]
    elif isinstance(value, list):
        children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for child, item in children:
        found = _non_finite(item, child)
        if found is not None:
            return found
    return None
