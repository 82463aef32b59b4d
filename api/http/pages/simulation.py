"""The what-if page: one patient under up to five regimens side by side, through the same
``simulate`` service call as ``POST /v1/simulations`` (each scenario its own governed,
audited decision); the values stay for "change the regimens"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.composition.service import TwinregService
from api.composition.validation import MAX_SCENARIOS
from api.errors import BadRequest
from api.http.pages.clinical_charts import trajectory_chart
from api.http.pages.decision_card import envelope_of
from api.http.pages.fields import Field, card_fields
from api.http.pages.predict_form import approved_card, form_context, kept_values, number
from api.http.pages.render import form_text, page
from api.http.pages.session import provide_page_principal, service_of
from api.http.work import EXPENSIVE
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.release.decision import ReleaseDecision
from models.card import TwinCard
from models.mechanistic.outputs import output_spec, trajectory_spec

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
#: Scenario columns on the form: as many as the API takes.
SCENARIOS = MAX_SCENARIOS


class SimulationPages(Controller):
    path = "/simulate"
    include_in_schema = False
    dependencies = {"principal": Provide(provide_page_principal)}

    @get("/", sync_to_thread=True)
    def form(
        self, request: Request[Any, Any, Any], principal: Principal, model: str | None = None
    ) -> Template:
        service = service_of(request)
        service.lifecycle.require(principal, model or "*", "predict")
        return _form_page(service, principal, model, {}, None)

    @post("/again", status_code=200, sync_to_thread=True)
    def again(self, request: Request[Any, Any, Any], principal: Principal, data: Form) -> Template:
        service = service_of(request)
        model = form_text(data, "model")
        service.lifecycle.require(principal, model or "*", "predict")
        return _form_page(service, principal, model, data, None)

    @post("/", status_code=200, sync_to_thread=True, middleware=[EXPENSIVE])
    def simulate(
        self, request: Request[Any, Any, Any], principal: Principal, data: Form
    ) -> Template:
        service = service_of(request)
        model = form_text(data, "model")
        try:
            card = approved_card(service, principal, model)
            fields = card_fields(card)
            base = {f.name: number(data, f) for f in fields}
            scenarios = _scenarios(data, fields)
            output = form_text(data, "output") or card.default_output
            decided = service.predictions.simulate(
                principal, model, form_text(data, "patient_id"), form_text(data, "purpose"),
                base, scenarios, output=output,
            )  # fmt: skip
        except (BadRequest, NotFound) as exc:
            audit = getattr(exc, "audit_id", None)
            message = f"{exc} (audit record {audit})" if audit else str(exc)
            return _form_page(service, principal, model, data, message, status=422)
        columns = [_column(card, fields, name, changes, d, output) for (name, changes), d in
                   zip(scenarios, [d for _, d in decided], strict=True)]  # fmt: skip
        released = any(c["released"] for c in columns)
        return page(
            "simulation.html",
            principal,
            status=200 if released else 403,
            model=model,
            card=card,
            columns=columns,
            chart=_chart(card, columns),
            kept=kept_values(data),
        )


def _scenarios(data: dict[str, Any], fields: list[Field]) -> list[tuple[str, Mapping[str, Any]]]:
    """The filled scenario columns (a name or a changed value); none filled: the patient's
    values as entered, as one scenario."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    for i in range(1, SCENARIOS + 1):
        prefix = f"s{i}_f_"
        changes = {
            f.name: number(data, f, prefix) for f in fields if form_text(data, prefix + f.name)
        }
        name = " ".join(form_text(data, f"s{i}_name", limit=60).split())  # a name on one line
        if name or changes:
            out.append((name or f"regimen {i}", changes))
    return out or [("as entered", {})]


def _column(
    card: TwinCard, fields: list[Field], name: str, changes: Mapping[str, Any],
    decision: ReleaseDecision, output: str | None,
) -> dict[str, Any]:  # fmt: skip
    by_name = {f.name: f for f in fields}
    column: dict[str, Any] = {
        "name": name,
        "changes": [f"{by_name[k].label}: {by_name[k].value_words(v)}" for k, v in changes.items()],
        "released": decision.released and decision.computation is not None,
        "audit_id": decision.audit_id,
        "reasons": decision.reasons,
    }
    if not column["released"]:
        return column
    assert decision.computation is not None
    prediction = decision.computation.prediction
    spec = output_spec(card.kind.value, str(output))
    value = float(prediction["value"])
    unit = spec.unit if spec else ""
    column |= {"value": f"{value:.4g} {unit}".strip(), "trajectory": prediction.get("trajectory")}
    if spec is not None and spec.range is not None:
        where = spec.range.verdict(value)
        column["verdict"] = f"{where} the {spec.range.words(unit)} {spec.range.kind} range"
        column["tone"] = "ok" if where == "within" else "bad"
    column["inside"], column["envelope"] = envelope_of(decision)
    return column


def _chart(card: TwinCard, columns: list[dict[str, Any]]) -> str | None:
    spec = trajectory_spec(card.kind.value)
    curves = [(c["name"], c["trajectory"]["t"], c["trajectory"]["y"])
              for c in columns if c.get("trajectory")]  # fmt: skip
    return trajectory_chart(curves, spec) if spec and curves else None


def _form_page(
    service: TwinregService,
    principal: Principal,
    model: str | None,
    data: dict[str, Any],
    error: str | None,
    status: int = 200,
) -> Template:
    return page(
        "simulate.html",
        principal,
        status=status,
        values=kept_values(data),
        error=error,
        scenarios=range(1, SCENARIOS + 1),
        **form_context(service, principal, model, mechanistic_only=True),
    )
