"""The clinician's prediction pages: ask, see the result as a decision card or why it was
withheld, record what was done with it (accepted, disregarded, overridden), and ask again
for the same patient with the values kept."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.composition.service import TwinregService
from api.errors import BadRequest
from api.http.pages.clinical_charts import effects_chart, trajectory_chart
from api.http.pages.decision_card import DecisionCard, build_card
from api.http.pages.fields import card_fields
from api.http.pages.predict_form import approved_card, form_context, kept_values, number
from api.http.pages.render import form_text, page
from api.http.pages.session import provide_page_principal, service_of
from api.http.work import EXPENSIVE
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.oversight.overrides import OVERRIDE_ACTIONS
from governance.release.decision import ReleaseDecision
from models.card import TwinCard
from models.mechanistic.outputs import trajectory_spec

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
#: A probability this close to the operating threshold is flagged as borderline.
NEAR_THRESHOLD = 0.05
#: The words of each override action, in the order offered (none is chosen for you).
ACTION_WORDS = {
    "accepted": "Accepted: I act on this result",
    "disregarded": "Disregarded: I do not use this result",
    "overridden": "Overridden: I decide otherwise",
}


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

    @post("/predict/again", status_code=200, sync_to_thread=True)
    def again(self, request: Request[Any, Any, Any], principal: Principal, data: Form) -> Template:
        """The form again with the values just sent (a form post of the signed-in session:
        the values never enter a URL, a cookie or the browser's storage)."""
        service = service_of(request)
        model = form_text(data, "model")
        service.lifecycle.require(principal, model or "*", "predict")
        return _form_page(service, principal, model, data, None)

    # always with its plot drawn: expensive work (api.http.work)
    @post("/predict", status_code=200, sync_to_thread=True, middleware=[EXPENSIVE])
    def predict(
        self, request: Request[Any, Any, Any], principal: Principal, data: Form
    ) -> Template:
        service = service_of(request)
        model = form_text(data, "model")
        try:
            card = approved_card(service, principal, model)
            fields = card_fields(card)
            features = {f.name: number(data, f) for f in fields}
        except (BadRequest, NotFound) as exc:
            return _form_page(service, principal, model, data, str(exc), status=422)
        try:
            decision = service.predictions.predict(
                principal,
                model,
                form_text(data, "patient_id"),
                form_text(data, "purpose"),
                features,
                plot="svg",
                output=form_text(data, "output") or None,
                trajectory=card.kind.is_mechanistic,
            )
        except (BadRequest, NotFound) as exc:
            audit = getattr(exc, "audit_id", None)
            message = f"{exc} (audit record {audit})" if audit else str(exc)
            return _form_page(service, principal, model, data, message, status=422)
        common: dict[str, Any] = {"model": model, "decision": decision, "kept": kept_values(data)}
        if not decision.released or decision.computation is None:
            return page("prediction.html", principal, status=403, released=False, **common)
        decision_card = build_card(card, decision, features, fields)
        return page(
            "prediction.html",
            principal,
            released=True,
            card=decision_card,
            charts=_charts(card, decision, decision_card),
            explanation=decision.computation.explanation,
            warnings=list(decision.warnings) + _borderline(decision.computation.prediction),
            override_actions=[(a, w) for a, w in ACTION_WORDS.items() if a in OVERRIDE_ACTIONS],
            **common,
        )

    @post("/predictions/{audit_id:str}/override", status_code=200, sync_to_thread=True)
    def override(
        self, request: Request[Any, Any, Any], principal: Principal, audit_id: str, data: Form
    ) -> Template:
        record = service_of(request).record_override(
            principal, audit_id, form_text(data, "action"), form_text(data, "reason")
        )
        return page("override.html", principal, record=record, notice="Recorded.", notice_kind="ok")


def _charts(card: TwinCard, decision: ReleaseDecision, shown: DecisionCard) -> dict[str, str]:
    assert decision.computation is not None
    prediction = decision.computation.prediction
    plot = str(decision.computation.explanation.get("plot_svg") or "")
    percent = prediction["kind"] in ("probability", "risk_score")
    rows = [(f"{c.label[:38]} = {c.value_words}", c.effect) for c in shown.contributions]
    charts = {
        "waterfall": "data:image/svg+xml;base64," + base64.b64encode(plot.encode()).decode(),
        "effects": effects_chart(rows, shown.effect_axis, percent),
    }
    spec = trajectory_spec(card.kind.value)
    curve = prediction.get("trajectory")
    if spec is not None and isinstance(curve, dict):
        charts["trajectory"] = trajectory_chart([("this patient", curve["t"], curve["y"])], spec)
    return charts


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
    return page(
        "predict.html",
        principal,
        status=status,
        values=kept_values(data),
        error=error,
        **form_context(service, principal, model, mechanistic_only=False),
    )
