"""An audit record laid out for reading: its place in the chain, who acted, the decision
and each check of a release decision, and every other field as text (nested values as
compact JSON). Every value is data: the template escapes it."""

from __future__ import annotations

import json
import re
from typing import Any

#: The body's own fields and the stored hashes: the record's place in the chain.
CHAIN_FIELDS = ("seq", "record_id", "at", "action", "hash", "prev_hash")
#: Fields shown in their own sections, not among the others.
SHOWN_APART = frozenset((*CHAIN_FIELDS, "principal", "decision", "checks"))
#: Fields whose name alone would mislead.
FIELD_LABELS = {"patient": "patient (keyed pseudonym, never the id)"}
#: A model name or version that may be put in a link to its page.
_LINKABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def record_view(record: dict[str, Any]) -> dict[str, Any]:
    principal = record.get("principal")
    checks = record.get("checks")
    model, version = record.get("model"), record.get("model_version")
    linkable = all(isinstance(v, str) and _LINKABLE.fullmatch(v) for v in (model, version))
    return {
        "chain": [(name, record.get(name)) for name in CHAIN_FIELDS],
        "who": principal if isinstance(principal, dict) else None,
        "decision": record.get("decision") if isinstance(record.get("decision"), str) else None,
        "checks": [c for c in checks if isinstance(c, dict)] if isinstance(checks, list) else [],
        "version_link": f"/ui/models/{model}/versions/{version}" if linkable else None,
        "fields": [
            (FIELD_LABELS.get(k, k.replace("_", " ")), text(v))
            for k, v in sorted(record.items())
            if k not in SHOWN_APART
        ],
    }


def text(value: Any) -> str:
    """A field's value as one line of text."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
