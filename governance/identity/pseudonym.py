"""Keyed hash of pseudonymous patient ids: the only form in which patients are stored."""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the pseudonymisation key must be at least 32 bytes")
        self._key = key

    def patient_key(self, patient_id: str) -> str:
        return hmac.new(self._key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def digest(self, data: bytes) -> str:
        """Keyed digest of request/response material for audit records."""
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()
