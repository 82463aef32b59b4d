"""A CDS Hooks 2.0 hook request and a feedback request, checked (422 naming the field).

Hook request: ``hook`` (the service's), ``hookInstance`` (a UUID), ``context`` with
``userId`` and ``patientId`` (and the hook's own fields), optional ``prefetch``. The
``fhirServer`` and ``fhirAuthorization`` an EHR may send are ignored: twinreg never calls
out to the EHR.
Feedback: ``{"feedback": [{"card", "outcome": "accepted"|"overridden", "outcomeTimestamp",
"overrideReason"?: {"reason"?: Coding, "userComment"?}, "acceptedSuggestions"?}]}``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.cds.errors import HookRequestInvalid

MAX_ID_LENGTH = 128
MAX_FEEDBACK = 50
MAX_COMMENT = 2000


@dataclass(frozen=True)
class HookRequest:
    hook: str
    instance: str
    user_id: str
    patient_id: str
    context: Mapping[str, Any]
    prefetch: Mapping[str, Any] | None


@dataclass(frozen=True)
class Feedback:
    card: str
    outcome: str
    reason: str
    at: str


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HookRequestInvalid("the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise HookRequestInvalid("the body must be a JSON object")
    return body


def _identifier(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise HookRequestInvalid(f"{field} must be a string of 1 to {MAX_ID_LENGTH} characters",
                                 field=field)  # fmt: skip
    if not value.isprintable():
        raise HookRequestInvalid(f"{field} must not contain control characters", field=field)
    return value


def _uuid(value: object, field: str) -> str:
    try:
        return str(uuid.UUID(str(value))) if isinstance(value, str) else _raise(field)
    except ValueError:
        return _raise(field)


def _raise(field: str) -> str:
    raise HookRequestInvalid(f"{field} must be a UUID", field=field)


def hook_request(raw: bytes, hook: str) -> HookRequest:
    body = _json(raw)
    if body.get("hook") != hook:
        raise HookRequestInvalid(f"hook must be {hook!r} for this service", field="hook")
    instance = _uuid(body.get("hookInstance"), "hookInstance")
    context = body.get("context")
    if not isinstance(context, dict):
        raise HookRequestInvalid("context must be an object", field="context")
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise HookRequestInvalid("prefetch must be an object", field="prefetch")
    return HookRequest(
        hook,
        instance,
        _identifier(context.get("userId"), "context.userId"),
        _identifier(context.get("patientId"), "context.patientId"),
        context,
        prefetch,
    )


def _reason(entry: Mapping[str, Any], field: str) -> str:
    given = entry.get("overrideReason")
    if given is None:
        return ""
    if not isinstance(given, dict):
        raise HookRequestInvalid(f"{field}.overrideReason must be an object", field=field)
    coding = given.get("reason") or {}
    comment = given.get("userComment") or ""
    if not isinstance(coding, dict) or not isinstance(comment, str):
        raise HookRequestInvalid(f"{field}.overrideReason is malformed", field=field)
    label = str(coding.get("display") or coding.get("code") or "")
    text = "; ".join(t.strip() for t in (label, comment) if t.strip())
    if len(text) > MAX_COMMENT or any(not (c.isprintable() or c in "\n\t") for c in text):
        raise HookRequestInvalid(f"{field}.overrideReason: at most {MAX_COMMENT} printable "
                                 "characters", field=f"{field}.overrideReason")  # fmt: skip
    return text


def _feedback(entry: object, i: int) -> Feedback:
    field = f"feedback[{i}]"
    if not isinstance(entry, dict):
        raise HookRequestInvalid(f"{field} must be an object", field=field)
    card = _uuid(entry.get("card"), f"{field}.card")
    outcome = entry.get("outcome")
    if outcome not in ("accepted", "overridden"):
        raise HookRequestInvalid(f"{field}.outcome must be accepted or overridden",
                                 field=f"{field}.outcome")  # fmt: skip
    at = entry.get("outcomeTimestamp")
    try:
        datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError as exc:
        raise HookRequestInvalid(f"{field}.outcomeTimestamp must be an ISO 8601 time",
                                 field=f"{field}.outcomeTimestamp") from exc  # fmt: skip
    return Feedback(card, str(outcome), _reason(entry, field), str(at))


def feedback_request(raw: bytes) -> list[Feedback]:
    entries = _json(raw).get("feedback")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_FEEDBACK:
        raise HookRequestInvalid(f"feedback must be a list of 1 to {MAX_FEEDBACK} entries",
                                 field="feedback")  # fmt: skip
    return [_feedback(e, i) for i, e in enumerate(entries)]
