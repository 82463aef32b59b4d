"""The CDS Hooks front door: discovery, the EHR's authentication, hook calls, feedback.

An adapter at the edge: each hook call becomes the service calls ``/v1`` makes (an
explained prediction, a twin's recommendation), through the same release gate, and their
results become cards. It adds no rule of its own.

A call: :meth:`CdsHooks.authenticate` (the JWT: :mod:`api.cds.ehr_jwt`; no writes), the
issuer's rate limit (the HTTP layer's), then :meth:`CdsHooks.call` records the jti as
used (a replay is refused), maps ``context.userId`` to the issuer's twinreg user at its
site and answers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api.cds.discovery import DOSING, DOSING_SIGN, RISK, ServiceInfo, discovery, offered
from api.cds.dosing import dosing_cards
from api.cds.ehr_jwt import VerifiedToken, verify
from api.cds.errors import EhrRefused
from api.cds.feedback import record_feedback
from api.cds.issuers import IssuerRegistry
from api.cds.jku import JkuKeys
from api.cds.requests import HookRequest, feedback_request, hook_request
from api.cds.risk import risk_cards
from api.composition.service import TwinregService
from governance.errors import NotFound
from governance.identity.ehr_tokens import EhrTokenUses
from governance.identity.principal import Principal

NO_BASE_URL = (
    "this twinreg has no public base URL (TWINREG_PUBLIC_BASE_URL): no CDS Hooks JWT can "
    "name it as its audience, so every hook call is refused until an operator sets it"
)
Handler = Callable[[TwinregService, Principal, HookRequest, str], list[dict[str, Any]]]


class CdsHooks:
    def __init__(self, service: TwinregService, jku: JkuKeys | None = None) -> None:
        self._svc = service
        self.issuers = IssuerRegistry(service.settings.cds_issuers_file)
        self._jku = jku or JkuKeys()
        self._uses = EhrTokenUses(service.engine)
        self._handlers: dict[str, Handler] = {
            RISK: risk_cards,
            DOSING: dosing_cards,
            DOSING_SIGN: dosing_cards,
        }

    # -- discovery ------------------------------------------------------------------------
    def discovery(self) -> dict[str, Any]:
        return discovery(self._svc.policies.current().feature_codes)

    def service(self, service_id: str) -> ServiceInfo:
        found = offered(self._svc.policies.current().feature_codes).get(service_id)
        if found is None:
            raise NotFound(f"no CDS service {service_id!r}; GET /cds-services lists them")
        return found

    # -- authentication -------------------------------------------------------------------
    @property
    def base_url(self) -> str | None:
        return self._svc.settings.public_base_url

    def authenticate(self, authorization: str, path: str) -> VerifiedToken:
        """The EHR's JWT from the Authorization header, for the ``path`` called."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise EhrRefused("no bearer JWT")
        if self.base_url is None:
            raise EhrRefused("no public base URL is configured", NO_BASE_URL)
        return verify(token.strip(), self.base_url + path, self.issuers, self._jku)

    def rate_limit(self, token: VerifiedToken) -> int:
        return token.issuer.rate_limit or self._svc.settings.cds_rate_limit_per_minute

    def _first_use(self, token: VerifiedToken) -> None:
        expires = datetime.fromtimestamp(token.exp, UTC)
        if not self._uses.first_use(token.issuer.issuer, token.jti, expires):
            raise EhrRefused(f"jti already used by {token.issuer.issuer!r} (a replay)")

    # -- hook calls -----------------------------------------------------------------------
    def call(self, token: VerifiedToken, service_id: str, raw: bytes) -> dict[str, Any]:
        info = self.service(service_id)
        self._first_use(token)
        request = hook_request(raw, info.hook)
        roles = self._svc.policies.current().roles
        principal = token.issuer.principal(request.user_id, roles)
        assert self.base_url is not None  # authenticate refused every call without it
        handler = self._handlers.get(service_id)
        if handler is None:
            raise NotFound(f"the CDS service {service_id!r} is not available here")
        return {"cards": handler(self._svc, principal, request, self.base_url)}

    # -- feedback -------------------------------------------------------------------------
    def feedback(self, token: VerifiedToken, service_id: str, raw: bytes) -> dict[str, Any]:
        info = self.service(service_id)
        self._first_use(token)
        return record_feedback(self._svc, token.issuer, info, feedback_request(raw))
