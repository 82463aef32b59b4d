"""Where device readings arrive and refused ones go, from the stream prefix.

MQTT: ``<prefix>/devices/<device>/readings`` in (the broker's ACL lets a device publish
only under ``<prefix>/devices/<its user name>/``), ``<prefix>/dead-letter/<device>`` out.
NATS: the same with dots, in the JetStream stream ``<PREFIX>_READINGS`` (subjects
``<prefix>.devices.*.readings``) and ``<PREFIX>_DEAD_LETTERS`` (``<prefix>.dead-letter.>``).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The device level of a topic that does not name a device id (its dead letters' level).
UNNAMED = "_"


@dataclass(frozen=True)
class Topics:
    prefix: str

    # -- MQTT ---------------------------------------------------------------------------
    @property
    def mqtt_readings(self) -> str:
        return f"{self.prefix}/devices/+/readings"

    def mqtt_device(self, topic: str) -> str:
        """The device level of a readings topic (as given: checked by the ingester)."""
        parts = topic.split("/")
        return parts[2] if len(parts) == 4 and parts[2] else UNNAMED

    def mqtt_dead_letter(self, device: str) -> str:
        return f"{self.prefix}/dead-letter/{_safe(device)}"

    # -- NATS ---------------------------------------------------------------------------
    @property
    def nats_readings(self) -> str:
        return f"{self.prefix}.devices.*.readings"

    @property
    def nats_dead_letters(self) -> str:
        return f"{self.prefix}.dead-letter.>"

    def nats_device(self, subject: str) -> str:
        parts = subject.split(".")
        return parts[2] if len(parts) == 4 and parts[2] else UNNAMED

    def nats_dead_letter(self, device: str) -> str:
        return f"{self.prefix}.dead-letter.{_safe(device)}"

    @property
    def stream(self) -> str:
        return f"{self.prefix.upper().replace('-', '_')}_READINGS"

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.prefix.upper().replace('-', '_')}_DEAD_LETTERS"

    @property
    def durable(self) -> str:
        return f"{self.prefix}-ingester"


def _safe(device: str) -> str:
    """``device`` as one topic level / subject token (else :data:`UNNAMED`)."""
    bad = set("/+#.*> \t\r\n\0")
    return device if device and len(device) <= 64 and not bad & set(device) else UNNAMED
