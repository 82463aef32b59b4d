"""Research (issue 17): cohorts drawn from a population prior or from the site's patient
twins that consent to research, in-silico trials over them (jobs: progress, result,
cancel, resume). A researcher's role is checked before the body is read: bodies arrive as
bytes and are decoded by the service (problem details name the field)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, post
from litestar.di import Provide
from litestar.types import BeforeRequestHookHandler

from api.composition.service import TwinregService
from api.http.controllers import allow_every_method
from api.http.deps import provide_principal, provide_service
from api.http.openapi import errors
from governance.identity.principal import Principal


class CohortController(Controller):
    path = "/v1/cohorts"
    tags = ["research"]
    before_request: BeforeRequestHookHandler | None = allow_every_method
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @post(status_code=201, sync_to_thread=True,
          summary="Draw a cohort: from a population prior, or from your site's patient twins "
          "that consent to research", responses=errors(400, 403, 404, 409, 413, 422))  # fmt: skip
    def create(self, body: bytes, service: TwinregService, principal: Principal) -> dict[str, Any]:
        return service.cohorts.create(principal, body).to_dict()

    @get(sync_to_thread=True, summary="The cohorts you may use", responses=errors(403))
    def listing(self, service: TwinregService, principal: Principal) -> dict[str, Any]:
        return {"cohorts": [c.to_dict() for c in service.cohorts.listing(principal)]}

    @get("/{cohort_id:str}", sync_to_thread=True, summary="One cohort",
         responses=errors(400, 403, 404))  # fmt: skip
    def read(self, cohort_id: str, service: TwinregService, principal: Principal) -> dict[str, Any]:
        return service.cohorts.get(principal, cohort_id).to_dict()

    @post("/{cohort_id:str}/trials", status_code=202, sync_to_thread=True,
          summary="Run an in-silico trial over the cohort (a job)",
          responses=errors(400, 403, 404, 409, 413, 422))  # fmt: skip
    def trial(
        self, cohort_id: str, body: bytes, service: TwinregService, principal: Principal
    ) -> Response[dict[str, Any]]:
        job = service.trials.request(principal, cohort_id, body)
        return Response(job, status_code=202, headers={"Location": f"/v1/jobs/{job['id']}"})


class JobController(Controller):
    path = "/v1/jobs/{job_id:str}"
    tags = ["research"]
    before_request: BeforeRequestHookHandler | None = allow_every_method
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @get(sync_to_thread=True, summary="A job: its state, progress, and its result when done",
         responses=errors(400, 403, 404))  # fmt: skip
    def read(self, job_id: str, service: TwinregService, principal: Principal) -> dict[str, Any]:
        return service.trials.job(principal, job_id)

    @delete(status_code=200, sync_to_thread=True, summary="Cancel a queued or running job",
            responses=errors(400, 403, 404, 409))  # fmt: skip
    def cancel(self, job_id: str, service: TwinregService, principal: Principal) -> dict[str, Any]:
        return service.trials.cancel(principal, job_id)

    @post("/resume", status_code=202, sync_to_thread=True,
          summary="Resume a failed or cancelled job from its finished chunks",
          responses=errors(400, 403, 404, 409))  # fmt: skip
    def resume(self, job_id: str, service: TwinregService, principal: Principal) -> dict[str, Any]:
        return service.trials.resume(principal, job_id)
