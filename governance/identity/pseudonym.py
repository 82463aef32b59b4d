"""Keyed hash of pseudonymous patient ids: the only form in which patients are stored."""

from __future__ import annotations

import hashlib
import hmac

#: Prefixes the site-scoped key's message. Its NUL byte never occurs in a registered id
#: (ids are printable), so no site-scoped message equals an unscoped one.
_SCOPED = b"twinreg.patient.site-scoped\x00"


class Pseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the pseudonymisation key must be at least 32 bytes")
        self._key = key

    def site_patient_key(self, site: str, patient_id: str) -> str:
        """The key of patient ``patient_id`` of ``site``: ids are scoped per site, so two
        sites' ``patient-042`` are two patients (see governance.consent.patient_keys).
        The site's length is part of the message: no two (site, id) pairs share one."""
        where = site.encode("utf-8")
        message = _SCOPED + len(where).to_bytes(4, "big") + where + patient_id.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def patient_key(self, patient_id: str) -> str:
        """The unscoped key of an id: the key of patients registered before ids were
        scoped per site, and the pseudonym of a path's id in a refusal made before the
        caller (and so the site) was known."""
        return hmac.new(self._key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def digest(self, data: bytes) -> str:
        """Keyed digest of request/response material for audit records."""
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()
