"""What the ingester needs of a broker (MQTT, NATS JetStream): messages in, dead letters
out, acknowledgements after the commit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from api.streams.delivery import Delivery
from api.streams.errors import BrokerError, Refused


class Transport(Protocol):
    name: str

    def start(self) -> None:
        """Connect and subscribe (:class:`BrokerError` if it cannot)."""

    def receive(self, limit: int, wait: float) -> list[Delivery]:
        """Up to ``limit`` messages: waits at most a second for the first, then up to
        ``wait`` seconds for more (an empty list when none came)."""

    def dead_letter(self, refused: Sequence[tuple[Delivery, Refused]]) -> None:
        """Publish each refusal to the dead-letter topic; returns once the broker has
        accepted them all (:class:`BrokerError` if it did not)."""

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge ``deliveries`` (committed, or dead-lettered)."""

    def stop(self) -> None: ...


def password(path: Path | None) -> str | None:
    """The password a settings file holds (its first line), or None."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        raise BrokerError(f"the broker password file {path} cannot be read: {exc}") from exc
