"""Patient twins (issue 14): instances, observations, calibrations, forecasts,
recommendations, the digital thread, and erasing a patient. A clinician acts on patients
of their own site; an admin names the site (``?site=``) where a route takes one."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.di import Provide
from litestar.types import BeforeRequestHookHandler

from api.composition.service import TwinregService
from api.http.controllers import allow_every_method
from api.http.controllers.patients import SITE_QUERY
from api.http.deps import provide_principal, provide_service
from api.http.openapi import errors
from api.http.twin_schemas import (
    ConsentGapIn,
    ConsentGapOut,
    EraseIn,
    EraseOut,
    ForecastIn,
    MoveIn,
    MoveOut,
    ObservationsIn,
    ObservationsOut,
    RecommendationIn,
    RecordOut,
    ThreadOut,
    TwinIn,
    TwinOut,
)
from governance.identity.principal import Principal
from governance.twins.views import Record, TwinView

TWIN = "/twins/{twin_id:str}"


def _twin(view: TwinView, audit_id: str) -> TwinOut:
    return TwinOut(
        view.id, view.model, view.model_version, view.purpose, view.state, view.status, audit_id
    )


def _record(r: Record) -> RecordOut:
    return RecordOut(r.id, r.kind, r.at.isoformat(), r.audit_id, r.body, r.number, r.status)


class TwinController(Controller):
    path = "/v1/patients/{patient_id:str}"
    tags = ["patient twins"]
    before_request: BeforeRequestHookHandler | None = allow_every_method
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @post("/twins", status_code=201, sync_to_thread=True, summary="Create a patient twin",
          responses=errors(400, 403, 404, 409, 413, 422))  # fmt: skip
    def create(
        self, patient_id: str, data: TwinIn, service: TwinregService, principal: Principal
    ) -> TwinOut:
        view = service.twins.create(principal, patient_id, data.model, data.version, data.purpose)
        return _twin(view, view.audit_id)

    @post("/observations", status_code=201, sync_to_thread=True,
          summary="Add observations (idempotent per id and source)",
          responses=errors(400, 403, 404, 409, 413, 422))  # fmt: skip
    def observe(
        self,
        patient_id: str,
        data: ObservationsIn,
        service: TwinregService,
        principal: Principal,
        site: str | None = SITE_QUERY,
    ) -> ObservationsOut:
        stored, again, audit_id = service.twins.ingest(
            principal, patient_id, data.observations, data.purpose, site
        )
        return ObservationsOut(stored, again, audit_id)

    @post(TWIN + "/calibrations", status_code=201, sync_to_thread=True,
          summary="Calibrate the twin on the patient's observations (a new state)",
          responses=errors(400, 403, 404, 409, 422))  # fmt: skip
    def calibrate(
        self, patient_id: str, twin_id: str, service: TwinregService, principal: Principal
    ) -> RecordOut:
        return _record(service.twins.calibrate(principal, patient_id, twin_id))

    @post(TWIN + "/forecasts", status_code=201, sync_to_thread=True,
          summary="Forecast a regimen from the latest state, explained",
          responses=errors(400, 403, 404, 409, 413, 422))  # fmt: skip
    def forecast(
        self,
        patient_id: str,
        twin_id: str,
        data: ForecastIn,
        service: TwinregService,
        principal: Principal,
    ) -> RecordOut:
        asked = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        out = service.twins.output(principal, patient_id, twin_id, "forecast", asked)
        return _record(out)

    @post(TWIN + "/recommendations", status_code=201, sync_to_thread=True,
          summary="Rank the regimens of a grid by probability of target attainment",
          responses=errors(400, 403, 404, 409, 413, 422))  # fmt: skip
    def recommend(
        self,
        patient_id: str,
        twin_id: str,
        data: RecommendationIn,
        service: TwinregService,
        principal: Principal,
    ) -> RecordOut:
        asked = msgspec.structs.asdict(data)
        out = service.twins.output(principal, patient_id, twin_id, "recommendation", asked)
        return _record(out)

    @post(TWIN + "/moves", status_code=201, sync_to_thread=True,
          summary="Move a twin to the newly approved version, recalibrated from its observations",
          responses=errors(400, 403, 404, 409, 413, 422))  # fmt: skip
    def move(
        self,
        patient_id: str,
        twin_id: str,
        data: MoveIn,
        service: TwinregService,
        principal: Principal,
    ) -> MoveOut:
        view, state, moved = service.twins.move(
            principal, patient_id, twin_id, data.version, data.reason
        )
        return MoveOut(_twin(view, moved.audit_id), _record(state), _record(moved))

    @post(TWIN + "/consent-gaps", status_code=201, sync_to_thread=True,
          summary="Confirm a consent gap of an incomplete twin filled or empty (audited)",
          responses=errors(400, 403, 404, 409, 413, 422))  # fmt: skip
    def confirm_gap(
        self,
        patient_id: str,
        twin_id: str,
        data: ConsentGapIn,
        service: TwinregService,
        principal: Principal,
    ) -> ConsentGapOut:
        gap, still_open, audit_id = service.twins.confirm_gap(
            principal, patient_id, twin_id, data.start, data.resolution
        )
        return ConsentGapOut(
            twin_id, gap.start.isoformat(), gap.end.isoformat(), list(gap.categories),
            data.resolution, still_open, audit_id,
        )  # fmt: skip

    @get(TWIN + "/thread", sync_to_thread=True, summary="The twin's digital thread (audited)",
         responses=errors(400, 403, 404, 409, 422))  # fmt: skip
    def thread(
        self,
        patient_id: str,
        twin_id: str,
        service: TwinregService,
        principal: Principal,
        site: str | None = SITE_QUERY,
    ) -> ThreadOut:
        view, records, audit_id = service.twins.thread(principal, patient_id, twin_id, site)
        return ThreadOut(
            view.id, view.model, view.model_version, view.purpose, view.state, view.status,
            audit_id, [_record(r) for r in records],
        )  # fmt: skip

    @post("/erase", status_code=200, sync_to_thread=True,
          summary="Erase a patient: destroy their data key, retire their twins (admin)",
          responses=errors(400, 403, 404, 413, 422))  # fmt: skip
    def erase(
        self,
        patient_id: str,
        data: EraseIn,
        service: TwinregService,
        principal: Principal,
        site: str | None = SITE_QUERY,
    ) -> EraseOut:
        return EraseOut(True, service.twins.erase(principal, patient_id, data.reason, site))
