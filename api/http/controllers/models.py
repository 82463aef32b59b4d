"""Twin models and versions: catalogue, detail, bias audit, validation dossier and lifecycle
actions."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.types import BeforeRequestHookHandler

from api.composition.service import TwinregService
from api.composition.validation import MODEL_NAME_PATTERN, VERSION_PATTERN
from api.http.controllers import allow_every_method
from api.http.deps import provide_principal, provide_service
from api.http.openapi import errors
from api.http.schemas import CommentIn, TransitionOut
from governance.identity.principal import Principal

VERSION = "/{name:str}/versions/{version:str}"
#: Documented with the rules ``check_reference`` applies (a name or version outside them is
#: its 422), so that a schema-valid reference can only be unknown (404).
Name = Annotated[str, Parameter(schema_extra={"pattern": MODEL_NAME_PATTERN})]
Version = Annotated[str, Parameter(schema_extra={"pattern": VERSION_PATTERN})]


class ModelController(Controller):
    path = "/v1/models"
    tags = ["models"]
    before_request: BeforeRequestHookHandler | None = allow_every_method
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @get(sync_to_thread=True, summary="List models with their versions", responses=errors(403))
    def list_models(self, service: TwinregService, principal: Principal) -> list[dict[str, Any]]:
        return service.list_models(principal)

    @get(
        "/{name:str}",
        sync_to_thread=True,
        summary="One model",
        responses=errors(400, 403, 404, 422),
    )
    def model(self, name: Name, service: TwinregService, principal: Principal) -> dict[str, Any]:
        return service.model_detail(principal, name)

    @get(
        VERSION,
        sync_to_thread=True,
        summary="A version: metadata, bias audits and lifecycle history",
        responses=errors(400, 403, 404, 422),
    )
    def version(
        self, name: Name, version: Version, service: TwinregService, principal: Principal
    ) -> dict[str, Any]:
        return service.version_detail(principal, name, version)

    @post(
        VERSION + "/bias-audits",
        status_code=201,
        sync_to_thread=True,
        summary="Run the bias audit on the version's evaluation set",
        responses=errors(400, 403, 404, 409, 422),
    )
    def bias_audit(
        self, name: Name, version: Version, service: TwinregService, principal: Principal
    ) -> dict[str, Any]:
        return service.run_bias_audit(principal, name, version)

    @post(
        VERSION + "/dossier",
        status_code=201,
        sync_to_thread=True,
        summary="Compute, judge and store the validation dossier",
        description=(
            "Held-out performance with bootstrap intervals (overall and per group), "
            "explanation checks, verification of mechanistic kernels, the credibility "
            "record and change control against the approved version, judged by "
            "policies/thresholds.toml [dossier] and policies/credibility.toml. Approval "
            "needs the latest dossier to pass."
        ),
        responses=errors(400, 403, 404, 409, 422),
    )
    def run_dossier(
        self, name: Name, version: Version, service: TwinregService, principal: Principal
    ) -> dict[str, Any]:
        return service.run_dossier(principal, name, version)

    @get(
        VERSION + "/dossier",
        sync_to_thread=True,
        summary="The latest validation dossier",
        responses=errors(400, 403, 404, 409, 422),
    )
    def dossier(
        self, name: Name, version: Version, service: TwinregService, principal: Principal
    ) -> dict[str, Any]:
        return service.dossier(principal, name, version)

    @get(
        VERSION + "/dossier/changes",
        sync_to_thread=True,
        summary="Change control against the approved version",
        responses=errors(400, 403, 404, 409, 422),
    )
    def dossier_changes(
        self, name: Name, version: Version, service: TwinregService, principal: Principal
    ) -> dict[str, Any]:
        return service.change_control(principal, name, version)

    @post(
        VERSION + "/approve",
        status_code=200,
        sync_to_thread=True,
        summary="Approve",
        responses=errors(400, 403, 404, 409, 413, 422),
    )
    def approve(
        self,
        name: Name,
        version: Version,
        data: CommentIn,
        service: TwinregService,
        principal: Principal,
    ) -> TransitionOut:
        status = service.transition(principal, "approve", name, version, data.comment)
        return TransitionOut(model=name, version=version, status=status)

    @post(
        VERSION + "/reject",
        status_code=200,
        sync_to_thread=True,
        summary="Reject",
        responses=errors(400, 403, 404, 409, 413, 422),
    )
    def reject(
        self,
        name: Name,
        version: Version,
        data: CommentIn,
        service: TwinregService,
        principal: Principal,
    ) -> TransitionOut:
        status = service.transition(principal, "reject", name, version, data.comment)
        return TransitionOut(model=name, version=version, status=status)

    @post(
        VERSION + "/suspend",
        status_code=200,
        sync_to_thread=True,
        summary="Suspend at once (stop button)",
        responses=errors(400, 403, 404, 409, 413, 422),
    )
    def suspend(
        self,
        name: Name,
        version: Version,
        data: CommentIn,
        service: TwinregService,
        principal: Principal,
    ) -> TransitionOut:
        status = service.transition(principal, "suspend", name, version, data.comment)
        return TransitionOut(model=name, version=version, status=status)

    @post(
        VERSION + "/reinstate",
        status_code=200,
        sync_to_thread=True,
        summary="Reinstate",
        responses=errors(400, 403, 404, 409, 413, 422),
    )
    def reinstate(
        self,
        name: Name,
        version: Version,
        data: CommentIn,
        service: TwinregService,
        principal: Principal,
    ) -> TransitionOut:
        status = service.transition(principal, "reinstate", name, version, data.comment)
        return TransitionOut(model=name, version=version, status=status)
