"""``POST /v1/predictions``: an explained prediction, released or withheld."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, post
from litestar.di import Provide
from litestar.openapi import ResponseSpec

from api.deps import provide_principal, provide_service
from api.presenters import decision_response
from api.schemas import PredictionIn, PredictionOut, WithheldOut
from api.service import TwinregService
from governance.principal import Principal


class PredictionController(Controller):
    path = "/v1/predictions"
    tags = ["predictions"]
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @post(
        status_code=200,
        sync_to_thread=True,
        summary="Request an explained prediction",
        responses={
            403: ResponseSpec(data_container=WithheldOut, description="Withheld, with the reasons")
        },
    )
    def predict(
        self, data: PredictionIn, service: TwinregService, principal: Principal
    ) -> Response[PredictionOut | WithheldOut | dict[str, Any]]:
        return decision_response(
            service.predict(
                principal,
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
