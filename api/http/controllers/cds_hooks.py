"""CDS Hooks 2.0 (:mod:`api.cds`): discovery, hook calls and feedback from EHRs.

The bearer middleware does not run here: an EHR authenticates each call with its own
signed JWT (:meth:`api.cds.hooks.CdsHooks.authenticate`). A refused JWT is answered 401
and audited (``auth.refused``, with which check failed) and counts against its address's
refused credentials like a refused bearer token; accepted calls are limited per EHR
issuer (``TWINREG_CDS_RATE_LIMIT``, or the issuer's ``rate_limit``), not per address.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.exceptions import TooManyRequestsException

from api.cds.ehr_jwt import VerifiedToken
from api.cds.errors import EhrRefused
from api.cds.hooks import CdsHooks
from api.composition.service import TwinregService
from api.http.auth import route_record
from api.http.limits import WINDOW_SECONDS, Counters
from api.http.openapi import EhrOperation, PublicOperation, errors, json_response
from api.http.refusal_limit import standing_of

SERVICE = "/{service_id:str}"


def _refuse(service: TwinregService, request: Request[Any, Any, Any], exc: EhrRefused) -> None:
    """Audit a refused JWT (its address's refusals limited like refused tokens)."""
    standing = standing_of(request.scope)
    if standing is not None:
        standing.refuse(str(request.scope.get("path_template") or request.scope["path"]))
    body = route_record(service, request.scope)
    entry = service.audit.append(
        "auth.refused", {**body, "method": request.method, "scheme": "cds-hooks-jwt",
                         "reason": exc.reason},
    )  # fmt: skip
    exc.audit_id = entry.record_id


async def _authenticated(request: Request[Any, Any, Any], service_id: str) -> VerifiedToken:
    cds: CdsHooks = request.app.state.cds
    service: TwinregService = request.app.state.twinreg
    await to_thread.run_sync(cds.service, service_id)  # an unknown service: 404 first
    header = request.headers.get("authorization", "")
    try:
        token = await to_thread.run_sync(cds.authenticate, header, request.url.path)
    except EhrRefused as exc:
        await to_thread.run_sync(_refuse, service, request, exc)
        raise
    counters: Counters = request.app.state.cds_counters
    count, reset = await counters.hit(f"ehr:{token.issuer.issuer}")
    limit = cds.rate_limit(token)
    if count > limit:
        raise TooManyRequestsException(headers={
            "RateLimit-Policy": f"{limit}; w={WINDOW_SECONDS}", "Retry-After": str(reset),
        })  # fmt: skip
    return token


async def _refused_after_auth(request: Request[Any, Any, Any], exc: EhrRefused) -> None:
    service: TwinregService = request.app.state.twinreg
    await to_thread.run_sync(_refuse, service, request, exc)


class CdsHooksController(Controller):
    path = "/cds-services"
    tags = ["CDS Hooks"]

    @get(sync_to_thread=True, summary="CDS Hooks discovery: the services offered",
         responses=errors(500, 503, public=True), operation_class=PublicOperation)  # fmt: skip
    def discovery(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        cds: CdsHooks = request.app.state.cds
        return cds.discovery()

    @post(SERVICE, status_code=200, summary="Call a CDS service (a hook): cards",
          operation_class=EhrOperation,
          responses={200: json_response(dict[str, Any], "The cards"),
                     **errors(400, 404, 413, 422)})  # fmt: skip
    async def call(self, service_id: str, request: Request[Any, Any, Any]) -> dict[str, Any]:
        token = await _authenticated(request, service_id)
        cds: CdsHooks = request.app.state.cds
        raw = await request.body()
        try:
            result: dict[str, Any] = await to_thread.run_sync(cds.call, token, service_id, raw)
        except EhrRefused as exc:  # a replayed jti, an unmapped userId
            await _refused_after_auth(request, exc)
            raise
        return result

    @post(SERVICE + "/feedback", status_code=200,
          summary="Feedback on cards: accepted or overridden (recorded like an override)",
          operation_class=EhrOperation,
          responses={200: json_response(dict[str, Any], "What was recorded, per card"),
                     **errors(400, 403, 404, 409, 413, 422)})  # fmt: skip
    async def feedback(self, service_id: str, request: Request[Any, Any, Any]) -> dict[str, Any]:
        token = await _authenticated(request, service_id)
        cds: CdsHooks = request.app.state.cds
        raw = await request.body()
        try:
            result: dict[str, Any] = await to_thread.run_sync(cds.feedback, token, service_id, raw)
        except EhrRefused as exc:
            await _refused_after_auth(request, exc)
            raise
        return result
