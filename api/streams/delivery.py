"""What a transport hands the ingester, and what the ingester hands back."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.streams.errors import Refused


@dataclass(frozen=True)
class Delivery:
    """One message as received: the device its topic (or subject) names, the payload,
    when it arrived (``time.time()``) and the transport's handle to acknowledge it."""

    device: str
    payload: bytes
    received: float
    handle: object = None


@dataclass
class Outcome:
    """A batch's fate: ``stored`` committed (acknowledge), ``refused`` for the
    dead-letter topic (then acknowledge), ``retry`` not committed for a reason that is
    not the message's (the store was unavailable): acknowledge nothing, try again."""

    stored: list[Delivery] = field(default_factory=list)
    refused: list[tuple[Delivery, Refused]] = field(default_factory=list)
    retry: list[Delivery] = field(default_factory=list)
    #: Bindings (by id) whose patient got readings: the recalibration's candidates.
    fed: dict[str, object] = field(default_factory=dict)
    readings: int = 0
