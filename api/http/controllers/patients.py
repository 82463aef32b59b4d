"""Patients (pseudonymous) and their consents."""

from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.di import Provide
from litestar.types import BeforeRequestHookHandler

from api.composition.service import TwinregService
from api.http.controllers import allow_every_method
from api.http.deps import provide_principal, provide_service
from api.http.openapi import errors
from api.http.schemas import ConsentIn, ConsentOut, PatientIn, PatientOut
from governance.identity.principal import Principal


def _out(view: dict[str, object]) -> ConsentOut:
    return ConsentOut(**view)  # type: ignore[arg-type]


class PatientController(Controller):
    path = "/v1/patients/{patient_id:str}"
    tags = ["patients"]
    before_request: BeforeRequestHookHandler | None = allow_every_method
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @put(
        sync_to_thread=True,
        summary="Register a pseudonymous patient at a site",
        responses=errors(400, 403, 409, 413, 422),
    )
    def register(
        self, patient_id: str, data: PatientIn, service: TwinregService, principal: Principal
    ) -> PatientOut:
        site, created = service.patients.register(principal, patient_id, data.site)
        return PatientOut(patient_id=patient_id, site=site, created=created)

    @post(
        "/consents",
        status_code=201,
        sync_to_thread=True,
        summary="Grant a consent",
        responses=errors(400, 403, 404, 413, 422),
    )
    def grant(
        self, patient_id: str, data: ConsentIn, service: TwinregService, principal: Principal
    ) -> ConsentOut:
        return _out(
            service.patients.grant(
                principal,
                patient_id,
                data.purpose,
                data.data_categories,
                data.valid_from,
                data.valid_until,
            ).to_dict()
        )

    @get(
        "/consents",
        sync_to_thread=True,
        summary="List a patient's consents",
        responses=errors(400, 403, 404, 422),
    )
    def consents(
        self, patient_id: str, service: TwinregService, principal: Principal
    ) -> list[ConsentOut]:
        return [_out(c.to_dict()) for c in service.patients.consents(principal, patient_id)]

    @post(
        "/consents/{consent_id:str}/withdraw",
        status_code=200,
        sync_to_thread=True,
        summary="Withdraw a consent (applies to the next request)",
        responses=errors(400, 403, 404, 422),
    )
    def withdraw(
        self, patient_id: str, consent_id: str, service: TwinregService, principal: Principal
    ) -> ConsentOut:
        return _out(service.patients.withdraw(principal, patient_id, consent_id).to_dict())
