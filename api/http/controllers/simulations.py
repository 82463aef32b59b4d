"""``POST /v1/simulations``: one patient under several regimens, side by side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Controller, Response, post
from litestar.di import Provide

from api.composition.service import TwinregService
from api.http.deps import provide_principal, provide_service
from api.http.openapi import SimulationOut, SimulationWithheldOut, errors, json_response
from api.http.presenters import simulation_response
from api.http.schemas import SimulationIn
from api.http.work import EXPENSIVE
from governance.identity.principal import Principal


class SimulationController(Controller):
    path = "/v1/simulations"
    tags = ["predictions"]
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @post(
        status_code=200,
        sync_to_thread=True,
        summary="Run a mechanistic twin for one patient under several regimens",
        middleware=[EXPENSIVE],
        responses={
            200: json_response(
                SimulationOut, "At least one scenario released; each with its own decision"
            ),
            403: json_response(
                SimulationWithheldOut, "Every scenario withheld: reasons, audit ids"
            ),
            **errors(400, 413, 422),
        },
    )
    def simulate(
        self, data: SimulationIn, service: TwinregService, principal: Principal
    ) -> Response[dict[str, Any]]:
        scenarios: list[tuple[str, Mapping[str, Any]]] = [
            (s.name, s.features) for s in data.scenarios
        ]
        return simulation_response(
            service.predictions.simulate(
                principal,
                data.model,
                data.patient_id,
                data.purpose,
                data.features,
                scenarios,
                data.version,
                data.output,
            )
        )
