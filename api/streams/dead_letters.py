"""The dead-letter message of a refused reading: why, and the message as it came."""

from __future__ import annotations

import base64
import json
import time

from api.streams.delivery import Delivery
from api.streams.errors import Refused


def dead_letter(delivery: Delivery, refused: Refused, transport: str) -> bytes:
    """JSON: ``device``, ``reason`` (a code), ``detail`` (what to fix), ``transport``,
    ``received`` (epoch seconds), ``record`` (the audit record of the service's own
    refusal, if any) and the ``payload`` (its text, or ``payload_base64``)."""
    body: dict[str, object] = {
        "device": delivery.device,
        "reason": refused.reason,
        "detail": str(refused),
        "transport": transport,
        "received": round(delivery.received, 3),
        "refused_at": round(time.time(), 3),
        "record": refused.audit_id,
    }
    try:
        body["payload"] = delivery.payload.decode("utf-8")
    except UnicodeDecodeError:
        body["payload_base64"] = base64.b64encode(delivery.payload).decode("ascii")
    return json.dumps(body, separators=(",", ":")).encode("utf-8")
