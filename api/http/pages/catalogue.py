"""Model catalogue and version pages, with the lifecycle actions the role may take."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from api.composition.service import TwinregService
from api.errors import BadRequest
from api.http.pages.bias_view import attribute_views
from api.http.pages.change_control_view import card_changes, change_rows
from api.http.pages.charts import calibration_chart, importance_chart
from api.http.pages.permissions import LIFECYCLE_ACTIONS, may, offered_actions
from api.http.pages.render import form_text, page
from api.http.pages.session import provide_page_principal, service_of
from governance.errors import NotFound
from governance.identity.principal import Principal
from models.card import TwinCard
from models.group_labels import group_labels

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
VERSION = "/{name:str}/versions/{version:str}"
_DONE = {
    "bias_audit": "Bias audit recorded.",
    "dossier": "Validation dossier computed and stored.",
    "approve": "Version approved.",
    "reject": "Version rejected.",
    "suspend": "Version suspended: it releases nothing until reinstated.",
    "reinstate": "Version reinstated.",
}


class CataloguePages(Controller):
    path = "/models"
    include_in_schema = False
    dependencies = {"principal": Provide(provide_page_principal)}

    @get("/", sync_to_thread=True)
    def catalogue(self, request: Request[Any, Any, Any], principal: Principal) -> Template:
        models = service_of(request).list_models(principal)
        return page("catalogue.html", principal, models=models)

    @get(VERSION, sync_to_thread=True)
    def version(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        name: str,
        version: str,
        done: str | None = None,
    ) -> Template:
        service = service_of(request)
        detail = service.version_detail(principal, name, version)
        actions = offered_actions(service, principal, name, detail["status"])
        return page(
            "version.html",
            principal,
            v=detail,
            actions=actions,
            preconditions=service.approval_preconditions(principal, name, version)
            if "approve" in actions
            else None,
            may_read_dossier=may(service, principal, name, "read_dossier"),
            **_evidence(service, principal, detail),
            notice=_DONE.get(done or ""),
            notice_kind="ok",
        )

    @post(VERSION + "/actions", status_code=303, sync_to_thread=True)
    def act(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        name: str,
        version: str,
        data: Form,
    ) -> Redirect:
        service = service_of(request)
        action = form_text(data, "action")
        comment = form_text(data, "comment")
        if action not in LIFECYCLE_ACTIONS:
            raise BadRequest(f"action must be one of {sorted(LIFECYCLE_ACTIONS)}", field="action")
        if action == "bias_audit":
            service.run_bias_audit(principal, name, version)
        elif action == "dossier":
            service.run_dossier(principal, name, version)
        else:
            if not comment:
                raise BadRequest("write a comment saying why", field="comment")
            service.transition(principal, action, name, version, comment)
        return Redirect(f"/ui/models/{name}/versions/{version}?done={action}", status_code=303)


def _evidence(
    service: TwinregService, principal: Principal, detail: dict[str, Any]
) -> dict[str, Any]:
    """The bias audit and the dossier of a version as the page shows them: groups by their
    labels, gaps beside their thresholds, change control side by side, charts."""
    name, version = detail["model"], detail["version"]
    labels = group_labels(TwinCard.from_dict(detail["card"]))
    audit = detail["bias_audits"][-1] if detail["bias_audits"] else None
    limits = service.policies.current().bias_audit_limits
    dossier = _dossier(service, principal, name, version)
    body: dict[str, Any] = dossier["dossier"] if dossier else {}
    change = body.get("change_control")
    return {
        "audit": audit,
        "bias": attribute_views(audit["metrics"], labels, limits) if audit else [],
        "labels": labels,
        "dossier": dossier,
        "change_rows": change_rows(change, body["findings"]) if change else [],
        "card_changes": card_changes(change["card"]) if change else [],
        "charts": _charts(body) if body else {},
    }


def _dossier(
    service: TwinregService, principal: Principal, model: str, version: str
) -> dict[str, Any] | None:
    """The latest dossier when the role may read dossiers (checked without an audited
    refusal: the page simply leaves the section out), else None."""
    if not may(service, principal, model, "read_dossier"):
        return None
    try:
        return service.dossier(principal, model, version)
    except NotFound:
        return None


def _charts(dossier: dict[str, Any]) -> dict[str, str]:
    charts: dict[str, str] = {}
    importance = dossier.get("explanation", {}).get("global_importance")
    if importance and importance.get("features"):
        features = [(f["feature"], float(f["mean_abs"])) for f in importance["features"]]
        charts["importance"] = importance_chart(features, str(importance.get("measure", "")))
    curve = dossier.get("validation", {}).get("overall", {}).get("curves", {})
    calibration = curve.get("calibration_curve") if isinstance(curve, dict) else None
    if calibration and calibration.get("mean_predicted"):
        charts["calibration"] = calibration_chart(
            calibration["mean_predicted"], calibration["observed_rate"]
        )
    return charts
