"""FHIR R4 under ``/fhir``: the CapabilityStatement (public), a transaction Bundle of
patients, consents, observations and doses, a prediction as a RiskAssessment, and the
reads. Same bearer tokens and roles as ``/v1``; answers and errors are
``application/fhir+json`` (OperationOutcome: :mod:`api.http.fhir_errors`). The mapping is
:mod:`api.fhir`'s, the service calls :mod:`api.composition.fhir`'s. The routes are outside
the OpenAPI document: ``GET /fhir/metadata`` describes them."""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter

from api.composition import fhir, fhir_reads, fhir_risk
from api.composition.service import TwinregService
from api.fhir.capability import capability_statement
from api.fhir.outcome import FHIR_JSON
from api.http.controllers.patients import SITE_QUERY
from api.http.deps import provide_principal, provide_service
from api.http.work import expensive_work
from governance.identity.principal import Principal


def fhir_response(body: dict[str, Any], status: int = 200) -> Response[dict[str, Any]]:
    return Response(body, status_code=status, media_type=FHIR_JSON)


_PATIENT = Parameter(query="patient", min_length=1, max_length=136)
_TWIN = Parameter(query="twin", min_length=1, max_length=64)
_DATE = Parameter(query="date", min_items=1, max_items=2)
_COUNT = Parameter(query="_count", default=100, ge=1, le=fhir_reads.MAX_EVENTS)


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

    @post("/RiskAssessment/$predict", status_code=200)
    async def predict_risk(
        self,
        request: Request[Any, Any, Any],
        body: bytes,
        service: TwinregService,
        principal: Principal,
        content_type: str = Parameter(header="content-type", default=""),
    ) -> Response[dict[str, Any]]:
        """A prediction through the release gate, as a RiskAssessment (403: withheld, an
        OperationOutcome naming the failing checks). A twin not loaded yet, or a
        mechanistic one, waits for its place in the queue of expensive work, as on
        ``POST /v1/predictions``."""
        query = fhir_risk.parse(service, body, content_type)
        decide = partial(fhir_risk.predict, service, principal, query)
        if service.runtime.is_expensive(query.model, query.version):
            async with expensive_work(request.scope):
                status, answer = await to_thread.run_sync(decide)
        else:
            status, answer = await to_thread.run_sync(decide)
        return fhir_response(answer, status)

    @get("/Observation", sync_to_thread=True)
    def forecasts(
        self, service: TwinregService, principal: Principal, patient: str = _PATIENT,
        twin: str = _TWIN, site: str | None = SITE_QUERY,
    ) -> Response[dict[str, Any]]:  # fmt: skip
        return fhir_response(
            fhir_reads.twin_search(service, principal, "Observation", patient, twin, site)
        )

    @get("/MedicationRequest", sync_to_thread=True)
    def recommendations(
        self, service: TwinregService, principal: Principal, patient: str = _PATIENT,
        twin: str = _TWIN, site: str | None = SITE_QUERY,
    ) -> Response[dict[str, Any]]:  # fmt: skip
        found = fhir_reads.twin_search(service, principal, "MedicationRequest", patient, twin, site)
        return fhir_response(found)

    @get("/Provenance", sync_to_thread=True)
    def provenance(
        self, service: TwinregService, principal: Principal, patient: str = _PATIENT,
        twin: str = _TWIN, site: str | None = SITE_QUERY,
    ) -> Response[dict[str, Any]]:  # fmt: skip
        return fhir_response(
            fhir_reads.twin_search(service, principal, "Provenance", patient, twin, site)
        )

    @get("/AuditEvent", sync_to_thread=True)
    def audit_events(
        self,
        service: TwinregService,
        principal: Principal,
        date: list[str] = _DATE,
        count: int = _COUNT,
    ) -> Response[dict[str, Any]]:
        return fhir_response(fhir_reads.audit_events(service, principal, date, count))
