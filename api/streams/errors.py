"""Errors of :mod:`api.streams`.

StreamError
 +-- Refused         a message is refused: it goes to the dead-letter topic with ``reason``
 +-- BrokerError     a broker cannot be reached or refused the ingester (nothing is acked)
"""

from __future__ import annotations

from api.errors import ApiError


class StreamError(ApiError):
    """Base of the stream adapter's errors."""


class Refused(StreamError):
    """A message refused: ``reason`` a short code (``malformed``, ``names_patient``,
    ``invalid``, ``not_bound``, ...), the message what to fix."""

    def __init__(self, reason: str, message: str, audit_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.audit_id = audit_id


class BrokerError(StreamError):
    """A broker could not be used (connection, credentials, stream set-up)."""
