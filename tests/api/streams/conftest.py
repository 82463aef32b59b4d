"""The stream tests' brokers (see ``brokers``)."""

from tests.api.streams.brokers import mosquitto

__all__ = ["mosquitto"]
