"""Patients (pseudonymous) and their consents. Patient ids are scoped per site: the
consent routes act on the patient of the id at the caller's own site, or at the site
named by ``?site=`` (required for a caller bound to no site, e.g. an admin)."""

from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from litestar.types import BeforeRequestHookHandler

from api.composition.service import TwinregService
from api.http.controllers import allow_every_method
from api.http.deps import provide_principal, provide_service
from api.http.openapi import errors
from api.http.schemas import ConsentIn, ConsentOut, PatientIn, PatientOut
from governance.identity.principal import Principal


def _out(view: dict[str, object]) -> ConsentOut:
    return ConsentOut(**view)  # type: ignore[arg-type]


#: ``?site=``: the patient's site (default: the caller's own).
SITE_QUERY = Parameter(
    query="site",
    default=None,
    min_length=1,
    max_length=128,
    description="The patient's site (ids are scoped per site). Default: the caller's own "
    "site; required for a caller bound to no site (admin).",
)


class PatientController(Controller):
    path = "/v1/patients/{patient_id:str}"
    tags = ["patients"]
    before_request: BeforeRequestHookHandler | None = allow_every_method
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @put(
        sync_to_thread=True,
        summary="Register a pseudonymous patient at a site (ids are scoped per site)",
        responses=errors(400, 403, 413, 422),
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
        self,
        patient_id: str,
        data: ConsentIn,
        service: TwinregService,
        principal: Principal,
        site: str | None = SITE_QUERY,
    ) -> ConsentOut:
        return _out(
            service.patients.grant(
                principal,
                patient_id,
                data.purpose,
                data.data_categories,
                data.valid_from,
                data.valid_until,
                site,
            ).to_dict()
        )

    @get(
        "/consents",
        sync_to_thread=True,
        summary="List a patient's consents",
        responses=errors(400, 403, 404, 422),
    )
    def consents(
        self,
        patient_id: str,
        service: TwinregService,
        principal: Principal,
        site: str | None = SITE_QUERY,
    ) -> list[ConsentOut]:
        return [_out(c.to_dict()) for c in service.patients.consents(principal, patient_id, site)]

    @post(
        "/consents/{consent_id:str}/withdraw",
        status_code=200,
        sync_to_thread=True,
        summary="Withdraw a consent (applies to the next request)",
        responses=errors(400, 403, 404, 422),
    )
    def withdraw(
        self,
        patient_id: str,
        consent_id: str,
        service: TwinregService,
        principal: Principal,
        site: str | None = SITE_QUERY,
    ) -> ConsentOut:
        return _out(service.patients.withdraw(principal, patient_id, consent_id, site).to_dict())
