"""``POST /v1/predictions``: an explained prediction, released or withheld."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post

from api.auth import principal_of
from api.openapi import errors, json_response
from api.presenters import decision_response
from api.schemas import PredictionIn, PredictionOut, WithheldOut
from api.service import TwinregService
from governance.principal import Principal


class PredictionController(Controller):
    path = "/v1/predictions"
    tags = ["predictions"]

    @post(
        status_code=200,
        sync_to_thread=__import__("os").environ.get("TWINREG_EXP_SYNC", "1") == "1",
        summary="Request an explained prediction",
        responses={
            200: json_response(PredictionOut, "Released: prediction, explanation, audit id"),
            403: json_response(WithheldOut, "Withheld: the failing check's reasons, audit id"),
            **errors(400, 404, 413, 422),
        },
    )
    def predict(
        self, data: PredictionIn, request: Request[Principal, Any, Any]
    ) -> Response[PredictionOut | WithheldOut | dict[str, Any]]:
        # The service and principal straight from the request: two injected dependencies
        # would be resolved concurrently in an anyio task group on every request.
        service: TwinregService = request.app.state.twinreg
        return decision_response(
            service.predict(
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
        )
