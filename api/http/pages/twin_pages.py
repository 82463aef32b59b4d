"""A patient twin's page: its observations, calibrated state, forecast band,
recommendation and thread (read through the audited thread call), and buttons that
calibrate, forecast and recommend through the same service calls as the API (each through
the release gate, each audited). A refusal of bad input or of the twin's state is shown on
the page, recorded as the API records it. A caller bound to no site whose role reads twins
(an admin) names the site (``?site=``) and reads the page without its buttons: what passes
the release gate is a clinician's of the patient's site."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.composition.service import TwinregService
from api.http.pages import twin_view as tv
from api.http.pages.inline import refusal_words
from api.http.pages.patients import INLINE, patient_path, site_named, site_query
from api.http.pages.render import page
from api.http.pages.session import provide_page_principal, service_of
from api.http.pages.twin_forecasts import forecast_view
from api.http.pages.twin_plans import FIELDS, forecast_request, planned, required_number
from api.http.work import EXPENSIVE
from governance.identity.principal import Principal
from governance.twins.views import Record

#: Observations listed on the page (the latest); the thread lists every one.
SHOWN = 50
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class PatientTwinPages(Controller):
    path = "/patients/{patient_id:str}/twins/{twin_id:str}"
    include_in_schema = False
    dependencies = {"principal": Provide(provide_page_principal)}

    @get("/", sync_to_thread=True)
    def twin(
        self, request: Request[Any, Any, Any], principal: Principal, patient_id: str,
        twin_id: str, site: str = "",
    ) -> Template:  # fmt: skip
        """The twin read through its audited thread; a caller bound to no site (an admin,
        whose role reads twins at every site) names the site and reads it without acting."""
        return _twin_page(request, principal, patient_id, twin_id, site_named(site))

    @post("/calibrate", status_code=200, sync_to_thread=True, middleware=[EXPENSIVE])
    def calibrate(
        self, request: Request[Any, Any, Any], principal: Principal, patient_id: str, twin_id: str
    ) -> Template:
        def act(service: TwinregService) -> str:
            state = service.twins.calibrate(principal, patient_id, twin_id)
            return f"Calibrated: state {state.number}."

        return _acting(request, principal, patient_id, twin_id, act)

    @post("/forecast", status_code=200, sync_to_thread=True, middleware=[EXPENSIVE])
    def forecast(
        self, request: Request[Any, Any, Any], principal: Principal, patient_id: str,
        twin_id: str, data: Form,
    ) -> Template:  # fmt: skip
        def act(service: TwinregService) -> str:
            asked = forecast_request(data)
            out = service.twins.output(principal, patient_id, twin_id, "forecast", asked)
            return f"Forecast from state {out.body['state']}."

        return _acting(request, principal, patient_id, twin_id, act)

    @post("/recommend", status_code=200, sync_to_thread=True, middleware=[EXPENSIVE])
    def recommend(
        self, request: Request[Any, Any, Any], principal: Principal, patient_id: str,
        twin_id: str, data: Form,
    ) -> Template:  # fmt: skip
        def act(service: TwinregService) -> str:
            target = [required_number(data, "target_low"), required_number(data, "target_high")]
            asked = {"target": {"auc24": target}, "loading": "loading" in data}
            out = service.twins.output(principal, patient_id, twin_id, "recommendation", asked)
            return f"Regimens ranked from state {out.body['state']}."

        return _acting(request, principal, patient_id, twin_id, act)


def _acting(
    request: Request[Any, Any, Any], principal: Principal, patient_id: str, twin_id: str, act: Any
) -> Template:
    try:
        notice = act(service_of(request))
    except INLINE as exc:
        message, status = refusal_words(request, exc)
        return _twin_page(request, principal, patient_id, twin_id, error=message, status=status)
    return _twin_page(request, principal, patient_id, twin_id, notice=notice)


def _planned(recommendation: Record | None) -> dict[str, Any]:
    """The forecast form's starting values: the top regimen from its first dose, if one
    was recommended; else a usual regimen from the next hour (in UTC)."""
    plan: dict[str, Any] = {"dose_mg": 1000, "interval_h": 12, "n_doses": 6, "horizon_h": 72}
    start = datetime.now(UTC)
    if recommendation is not None:
        ranked = tv.regimens(recommendation, 1)
        first = recommendation.body.get("schedule", {}).get("first_dose")
        if ranked:
            plan |= {"dose_mg": ranked[0]["dose_mg"], "interval_h": ranked[0]["interval_h"]}
        if first:
            start = datetime.fromisoformat(first).astimezone(UTC)
    return {**plan, "start": start.strftime("%Y-%m-%dT%H:%M")}


def _latest(records: list[Record], kind: str) -> Record | None:
    found = [r for r in records if r.kind == kind]
    return found[-1] if found else None


def _twin_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    patient_id: str,
    twin_id: str,
    site: str | None = None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Template:
    service = service_of(request)
    view, records, audit_id = service.twins.thread(principal, patient_id, twin_id, site)
    states = [r for r in records if r.kind == "state" and r.status == "converged"]
    observations = [r for r in records if r.kind not in tv.OUTPUT_KINDS]
    forecast = _latest(records, "forecast")
    recommendation = _latest(records, "recommendation")
    kind = service.lifecycle.version(view.model, view.model_version).card.kind.value
    kinds = service.policies.current().observation_kinds
    return page(
        "twin.html",
        principal,
        status=status,
        patient_id=patient_id,
        patient_path=patient_path(patient_id),
        site=site or principal.site,
        site_q=site_query(principal, site),
        twin=view,
        kind=kind,
        read_audit_id=audit_id,
        observations=[
            (r, tv.observation_words(r, kinds), tv.time_words(r.body.get("time")))
            for r in observations[-SHOWN:]
        ],
        earlier=max(0, len(observations) - SHOWN),
        state=states[-1] if states else None,
        state_lines=tv.state_lines(states[-1], kind) if states else [],
        forecast=forecast,
        forecast_view=forecast_view(kind, forecast, observations) if forecast else None,
        recommendation=recommendation,
        regimens=tv.regimens(recommendation) if recommendation else [],
        thread=tv.thread_lines(records, kinds),
        fields=FIELDS.get(kind, ()),
        planned=planned(kind, observations, _planned(recommendation)),
        notice=notice,
        notice_kind="ok",
        error=error,
    )
