"""``POST /v1/predictions``: an explained prediction, released or withheld.

On the embedded default, a prediction from a twin this worker has loaded takes a couple
of milliseconds of work (the durable audit commit included): it runs on the event loop,
which is cheaper than a hop to a worker thread and back (measured: ~0.15 ms of CPU per
request, and a p99 several times higher under load from GIL hand-offs). Anything that may
take long or wait — loading a twin for the first time, drawing a plot, a mechanistic
explanation, any decision on PostgreSQL (network round trips, the audit chain's lock) —
goes to a worker thread, so that it never holds up the other requests of the worker
(:meth:`api.composition.runtime.RegistryRuntime.is_warm`). On the event loop the audit
commit never waits for SQLite's write lock: when another process holds it, nothing is
written and the decision is made again on a worker thread, which waits for the lock
(:func:`governance.store.db.without_waiting`); ``/health`` and the worker's other requests
go on meanwhile.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import to_thread
from litestar import Controller, Request, post
from litestar.response.base import ASGIResponse

from api.composition.service import TwinregService
from api.http.auth import REVOCATION_IN_FACTS, principal_of
from api.http.openapi import errors, json_response
from api.http.presenters import decision_response
from api.http.schemas import PredictionIn, PredictionOut, WithheldOut
from governance.errors import StoreBusy
from governance.identity.principal import Principal
from governance.store.db import without_waiting


class PredictionController(Controller):
    path = "/v1/predictions"
    tags = ["predictions"]

    @post(
        status_code=200,
        summary="Request an explained prediction",
        opt={REVOCATION_IN_FACTS: True},
        responses={
            200: json_response(PredictionOut, "Released: prediction, explanation, audit id"),
            403: json_response(WithheldOut, "Withheld: the failing check's reasons, audit id"),
            **errors(400, 413, 422),
        },
    )
    async def predict(
        self, data: PredictionIn, request: Request[Principal, Any, Any]
    ) -> ASGIResponse:
        # The service and principal straight from the request: two injected dependencies
        # would be resolved concurrently in an anyio task group on every request.
        service: TwinregService = request.app.state.twinreg
        decide = partial(
            service.predictions.predict,
            principal_of(request),
            data.model,
            data.patient_id,
            data.purpose,
            data.features,
            data.version,
            data.plot,
            data.output,
            data.trajectory,
        )
        if data.plot is None and service.runtime.is_warm(data.model, data.version):
            try:
                with without_waiting():
                    return decision_response(decide())
            except StoreBusy:
                pass  # nothing was written: decided again below, where waiting blocks no one
        return decision_response(await to_thread.run_sync(decide))
