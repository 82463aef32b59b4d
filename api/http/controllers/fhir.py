"""FHIR R4 under ``/fhir``: the CapabilityStatement, and a transaction Bundle of patients,
consents, observations and doses. Same bearer tokens and roles as ``/v1``; answers and
errors are ``application/fhir+json`` (OperationOutcome: :mod:`api.http.fhir_errors`). The
mapping is :mod:`api.fhir`'s, the service calls :mod:`api.composition.fhir`'s. The routes
are outside the OpenAPI document: ``GET /fhir/metadata`` describes them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter

from api.composition import fhir
from api.composition.service import TwinregService
from api.fhir.capability import capability_statement
from api.fhir.outcome import FHIR_JSON
from api.http.deps import provide_principal, provide_service
from governance.identity.principal import Principal


def fhir_response(body: dict[str, Any], status: int = 200) -> Response[dict[str, Any]]:
    return Response(body, status_code=status, media_type=FHIR_JSON)


class FhirController(Controller):
    path = "/fhir"
    tags = ["fhir"]
    include_in_schema = False
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @get("/metadata", sync_to_thread=False)
    def metadata(self) -> Response[dict[str, Any]]:
        return fhir_response(capability_statement())

    @post("/", sync_to_thread=True, status_code=200)
    def transaction(
        self,
        body: bytes,
        service: TwinregService,
        principal: Principal,
        content_type: str = Parameter(header="content-type", default=""),
        purpose: str | None = Parameter(query="purpose", default=None, max_length=64),
    ) -> Response[dict[str, Any]]:
        answer = fhir.transaction(service, principal, body, content_type, purpose)
        return fhir_response(answer)
