"""The clinician's prediction pages: ask, see the explained result or why it was withheld,
and record an override."""

from __future__ import annotations

import base64
import math
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.composition.service import TwinregService
from api.errors import BadRequest
from api.http.pages.render import form_text, page
from api.http.pages.session import provide_page_principal, service_of
from api.http.work import EXPENSIVE
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.oversight.overrides import OVERRIDE_ACTIONS

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
#: A probability this close to the operating threshold is flagged as borderline.
NEAR_THRESHOLD = 0.05


class PredictionPages(Controller):
    path = "/"
    include_in_schema = False
    dependencies = {"principal": Provide(provide_page_principal)}

    @get("/predict", sync_to_thread=True)
    def form(
        self, request: Request[Any, Any, Any], principal: Principal, model: str | None = None
    ) -> Template:
        service = service_of(request)
        service.lifecycle.require(principal, model or "*", "predict")
        return _form_page(service, principal, model, {}, None)

    # always with its plot drawn: expensive work (api.http.work)
    @post("/predict", status_code=200, sync_to_thread=True, middleware=[EXPENSIVE])
    def predict(
        self, request: Request[Any, Any, Any], principal: Principal, data: Form
    ) -> Template:
        service = service_of(request)
        model = form_text(data, "model")
        try:
            card = _approved_card(service, principal, model)
            features = {f.name: _number(data, f.name) for f in card.features}
        except (BadRequest, NotFound) as exc:
            return _form_page(service, principal, model, data, str(exc), status=422)
        output = form_text(data, "output") or None
        try:
            decision = service.predictions.predict(
                principal,
                model,
                form_text(data, "patient_id"),
                form_text(data, "purpose"),
                features,
                plot="svg",
                output=output,
            )
        except (BadRequest, NotFound) as exc:
            audit = getattr(exc, "audit_id", None)
            message = f"{exc} (audit record {audit})" if audit else str(exc)
            return _form_page(service, principal, model, data, message, status=422)
        if not decision.released or decision.computation is None:
            return page(
                "prediction.html",
                principal,
                status=403,
                released=False,
                decision=decision,
                model=model,
            )
        computation = decision.computation
        plot = str(computation.explanation.get("plot_svg") or "")
        return page(
            "prediction.html",
            principal,
            released=True,
            decision=decision,
            model=model,
            prediction=computation.prediction,
            explanation=computation.explanation,
            contributions=sorted(
                computation.explanation["contributions"].items(), key=lambda kv: -abs(kv[1])
            ),
            plot_src="data:image/svg+xml;base64," + base64.b64encode(plot.encode()).decode(),
            warnings=list(decision.warnings) + _borderline(computation.prediction),
            override_actions=OVERRIDE_ACTIONS,
        )

    @post("/predictions/{audit_id:str}/override", status_code=200, sync_to_thread=True)
    def override(
        self, request: Request[Any, Any, Any], principal: Principal, audit_id: str, data: Form
    ) -> Template:
        record = service_of(request).record_override(
            principal, audit_id, form_text(data, "action"), form_text(data, "reason")
        )
        return page(
            "override.html", principal, record=record, notice="Override recorded.", notice_kind="ok"
        )


def _approved_card(service: TwinregService, principal: Principal, model: str) -> Any:
    if not model:
        raise BadRequest("choose a model", field="model")
    detail = service.model_detail(principal, model)
    approved = detail["approved_version"]
    if approved is None:
        raise NotFound(f"{model} has no approved version; nothing can be predicted with it")
    return service.lifecycle.version(model, approved).card


def _number(data: dict[str, Any], name: str) -> float:
    text = form_text(data, "f_" + name, limit=64)
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a number", field=name) from None
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number", field=name)
    return value


def _borderline(prediction: dict[str, Any]) -> list[str]:
    threshold = prediction.get("threshold")
    if threshold is None or abs(prediction["value"] - threshold) >= NEAR_THRESHOLD:
        return []
    return [
        f"borderline: the probability {prediction['value']:.3f} is within {NEAR_THRESHOLD} "
        f"of the operating threshold {threshold}; small changes in the inputs flip the flag"
    ]


def _form_page(
    service: TwinregService,
    principal: Principal,
    model: str | None,
    data: dict[str, Any],
    error: str | None,
    status: int = 200,
) -> Template:
    models = [m for m in service.list_models(principal) if m["approved_version"]]
    chosen = next((m for m in models if m["name"] == model), None)
    card = (
        service.lifecycle.version(model, chosen["approved_version"]).card
        if chosen and model
        else None
    )
    return page(
        "predict.html",
        principal,
        status=status,
        models=models,
        model=model if chosen else None,
        card=card,
        values={k: form_text(data, k) for k in data},
        error=error,
    )
