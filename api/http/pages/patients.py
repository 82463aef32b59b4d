"""Patients and their consents on pages: register a patient of the clinician's site, grant
and withdraw consents, open and create the patient's twins. An admin (bound to no site)
names the site as the API does (``?site=``), chosen on a page of its own; a clinician's
pages stay at their own site (another site named is refused as the API refuses it). The
same service calls as ``/v1/patients`` (each change audited in its own transaction, each
read of consents or twins audited before it is shown); bad input is shown beside the form,
recorded as the API records it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from api.composition.service import TwinregService
from api.composition.twin_kinds import adapter_for
from api.composition.twin_listing import patient_twins
from api.errors import BadRequest
from api.http.pages.inline import refusal_words
from api.http.pages.render import form_text, page
from api.http.pages.session import PAGES, provide_page_principal, service_of
from governance.errors import Conflict, InvalidInput, NotFound
from governance.identity.principal import Principal
from models.card import DATA_CATEGORIES

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
#: Refusals shown beside the form; the others are error pages.
INLINE = (BadRequest, InvalidInput, Conflict)


def patient_path(patient_id: str) -> str:
    return f"{PAGES}/patients/{quote(patient_id, safe='')}"


def site_named(site: str) -> str | None:
    """The ``?site=`` named (``None``: the caller's own)."""
    return site.strip()[:128] or None


def site_query(principal: Principal, site: str | None) -> str:
    """``?site=...`` for the links and forms of a caller bound to no site."""
    return f"?site={quote(site, safe='')}" if principal.site is None and site else ""


class PatientPages(Controller):
    path = "/patients"
    include_in_schema = False
    dependencies = {"principal": Provide(provide_page_principal)}

    @get("/", sync_to_thread=True)
    def start(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        patient_id: str = "",
        site: str = "",
    ) -> Template | Redirect:
        """Find a patient by id (the form's GET), or register one; an admin first chooses
        the site."""
        service = service_of(request)
        service.lifecycle.require(principal, "*", "read")
        chosen = site_named(site)
        if principal.site is None and chosen is None:
            return page("patient_sites.html", principal, sites=service.patients.sites(principal))
        if patient_id.strip():
            where = site_query(principal, chosen)
            return Redirect(patient_path(patient_id.strip()) + where, status_code=303)
        return _patients_page(principal, chosen)

    @post("/", status_code=200, sync_to_thread=True)
    def register(
        self, request: Request[Any, Any, Any], principal: Principal, data: Form, site: str = ""
    ) -> Template:
        service = service_of(request)
        patient_id = form_text(data, "patient_id", limit=200)
        chosen = site_named(site)
        try:
            at = chosen or principal.site
            if at is None:
                raise InvalidInput("name the site to register the patient at (?site=)", "site")
            _, created = service.patients.register(principal, patient_id, at)
        except INLINE as exc:
            message, status = refusal_words(request, exc)
            return _patients_page(principal, chosen, status=status, error=message)
        notice = "Patient registered." if created else "This patient was already registered."
        return _patient_page(request, principal, patient_id, chosen, notice=notice)

    @get("/{patient_id:str}", sync_to_thread=True)
    def patient(
        self, request: Request[Any, Any, Any], principal: Principal, patient_id: str, site: str = ""
    ) -> Template:
        return _patient_page(request, principal, patient_id, site_named(site))

    @post("/{patient_id:str}/consents", status_code=200, sync_to_thread=True)
    def grant(
        self, request: Request[Any, Any, Any], principal: Principal, patient_id: str, data: Form,
        site: str = "",
    ) -> Template:  # fmt: skip
        at_site = site_named(site)
        categories = data.get("data_categories", [])
        chosen = [categories] if isinstance(categories, str) else list(categories)
        try:
            consent = service_of(request).patients.grant(
                principal,
                patient_id,
                form_text(data, "purpose"),
                [str(c) for c in chosen],
                _date(data, "valid_from"),
                _date(data, "valid_until"),
                at_site,
            )
        except INLINE as exc:
            message, status = refusal_words(request, exc)
            return _patient_page(
                request, principal, patient_id, at_site, error=message, status=status
            )
        notice = f"Consent recorded for {consent.purpose}: {', '.join(consent.data_categories)}."
        return _patient_page(request, principal, patient_id, at_site, notice=notice)

    @post("/{patient_id:str}/consents/{consent_id:str}/withdraw", status_code=200,
          sync_to_thread=True)  # fmt: skip
    def withdraw(
        self, request: Request[Any, Any, Any], principal: Principal, patient_id: str,
        consent_id: str, site: str = "",
    ) -> Template:  # fmt: skip
        chosen = site_named(site)
        patients = service_of(request).patients
        consent = patients.withdraw(principal, patient_id, consent_id, chosen)
        notice = f"Consent for {consent.purpose} withdrawn; it applies to the next request."
        return _patient_page(request, principal, patient_id, chosen, notice=notice)

    @post("/{patient_id:str}/twins", status_code=303, sync_to_thread=True)
    def create_twin(
        self, request: Request[Any, Any, Any], principal: Principal, patient_id: str, data: Form
    ) -> Template | Redirect:
        try:
            twin = service_of(request).twins.create(
                principal, patient_id, form_text(data, "model"), None, form_text(data, "purpose")
            )
        except INLINE as exc:
            message, status = refusal_words(request, exc)
            return _patient_page(request, principal, patient_id, error=message, status=status)
        return Redirect(f"{patient_path(patient_id)}/twins/{twin.id}", status_code=303)


def _date(data: dict[str, Any], name: str) -> datetime | None:
    text = form_text(data, name, limit=32)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD)", field=name) from None


def _patients_page(
    principal: Principal, site: str | None, *, status: int = 200, **context: Any
) -> Template:
    return page(
        "patients.html", principal, status=status, site=site or principal.site,
        site_q=site_query(principal, site), **({"error": None} | context),
    )  # fmt: skip


def _patient_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    patient_id: str,
    site: str | None = None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Template:
    service = service_of(request)
    try:
        consents = service.patients.consents(principal, patient_id, site)
    except NotFound as exc:
        message, _ = refusal_words(request, exc)
        return _patients_page(principal, site, status=404, error=message, unknown=patient_id)
    twins, _ = patient_twins(
        service.twins, service.audit, service.policies, principal, patient_id, site
    )
    policy = service.policies.current()
    models = _twin_models(service, principal)
    return page(
        "patient.html",
        principal,
        status=status,
        patient_id=patient_id,
        patient_path=patient_path(patient_id),
        site=site or principal.site,
        site_q=site_query(principal, site),
        consents=[c.to_dict() for c in consents],
        twins=twins,
        purposes=sorted(policy.ethics.purposes),
        categories=sorted(DATA_CATEGORIES),
        models=models,
        notice=notice,
        notice_kind="ok",
        error=error,
    )


def _twin_models(service: TwinregService, principal: Principal) -> list[dict[str, Any]]:
    """The approved models a patient twin can be made of, with what their consent covers."""
    out = []
    for m in service.list_models(principal):
        if not m["approved_version"]:
            continue
        card = service.lifecycle.version(m["name"], m["approved_version"]).card
        out.append(
            {
                "name": m["name"],
                "outcome": card.outcome,
                "categories": list(card.data_categories),
                "purposes": list(card.intended_purposes),
                "twin": card.kind.is_mechanistic and adapter_for(card.kind.value) is not None,
            }
        )
    return out
