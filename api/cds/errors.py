"""Errors of the CDS Hooks adapter (:mod:`api.cds`).

CdsError
 +-- EhrRefused        the EHR's JWT, or the user it names, is refused (401); ``reason``
 |                     says which part failed for the audit record, the message only what
 |                     helps the EHR's administrator
 +-- HookRequestInvalid  the hook request or feedback is malformed (422); ``field`` names it

Both are also the API's own errors (:class:`~api.errors.Unauthorized`,
:class:`~api.errors.BadRequest`), so the one table of :mod:`api.http.problems` answers them.
"""

from __future__ import annotations

from api.errors import ApiError, BadRequest, Unauthorized

#: What an EHR is told of any refused JWT: enough for its administrator to check the
#: configuration; which part failed is in the audit record the answer names.
JWT_REFUSED = (
    "the CDS Hooks JWT was refused: it must be signed (ES384 or RS384) with an allow-listed "
    "key (kid) of an allow-listed issuer (iss), name this service's URL as aud, expire at most "
    "5 minutes ahead (exp) and carry a jti never used before; the audit record named here "
    "says which check failed"
)


class CdsError(ApiError):
    """Base of every error raised by :mod:`api.cds`."""


class EhrRefused(CdsError, Unauthorized):
    """The EHR is not authenticated, or the user it names is not mapped (401)."""

    audit_id: str | None = None

    def __init__(self, reason: str, public: str = JWT_REFUSED) -> None:
        super().__init__(public)
        #: Which check failed (the audit record's reason; never sent to the EHR).
        self.reason = reason[:500]


class HookRequestInvalid(CdsError, BadRequest):
    """The hook request or the feedback is not what CDS Hooks 2.0 defines (422)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        BadRequest.__init__(self, message, field)
