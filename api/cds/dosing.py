"""The ``vancomycin-dosing`` services (``order-select``, ``order-sign``): for a draft
vancomycin MedicationRequest, the patient's calibrated vancomycin twin's recommendation,
as ``POST /v1/patients/{id}/twins/{twin}/recommendations`` makes it (the same service
call, the same release gate, recorded in the twin's thread), over the map's grid. The card
gives the top regimen, its probability of target attainment and why, the draft's own
regimen beside it, and a suggestion whose ``update`` action replaces the draft. The twin
is what twinreg holds: nothing is fetched from the EHR.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fhir.resources.R4B.medicationrequest import MedicationRequest

from api.cds import cards
from api.cds.cards import md
from api.cds.errors import HookRequestInvalid
from api.cds.fhir_input import draft_medication_requests
from api.cds.orders import draft_regimen, is_vancomycin, replaced
from api.cds.requests import HookRequest
from api.composition.service import TwinregService
from governance.audit.reads import payload_of
from governance.errors import AuditWriteError, GovernanceError, PolicyError, StoreUnavailable
from governance.identity.principal import Principal
from governance.policy.feature_codes import DosingService
from governance.twins.views import Record, TwinView

OUTAGES = (PolicyError, AuditWriteError, StoreUnavailable)
NO_TWIN = (
    "the patient has no vancomycin twin in twinreg; a clinician creates and calibrates one "
    "(POST /v1/patients/{id}/twins, then observations and a calibration)"
)


class NoTwin(GovernanceError):
    """The patient has no twin of the dosing service's kind in twinreg."""


def _selections(request: HookRequest) -> list[str] | None:
    if request.hook != "order-select":
        return None
    chosen = request.context.get("selections")
    if not isinstance(chosen, list) or not all(isinstance(s, str) for s in chosen):
        raise HookRequestInvalid("context.selections must be a list of references",
                                 field="context.selections")  # fmt: skip
    return chosen


def _twin(svc: TwinregService, principal: Principal, patient_id: str, kind: str) -> TwinView | None:
    """The patient's latest active twin of ``kind`` at the caller's site."""
    key = svc.twins.patient(principal, patient_id, "write", None)
    twins = [
        t for t in svc.twins.bank.twins(key)
        if svc.gate.resolve(t.model, t.model_version)[1].card.kind.value == kind
    ]  # fmt: skip
    return twins[-1] if twins else None


def grid(dosing: DosingService) -> dict[str, Any]:
    """The recommendation request, in the terms of POST .../recommendations."""
    return {"target": {"auc24": list(dosing.target_auc24)}, "intervals_h": list(dosing.intervals_h),
            "dose_step_mg": dosing.dose_step_mg, "max_daily_mg": dosing.max_daily_mg,
            "loading": False}  # fmt: skip


def dosing_cards(
    svc: TwinregService, principal: Principal, request: HookRequest, base: str
) -> list[dict[str, Any]]:
    dosing = svc.policies.current().feature_codes.dosing
    assert dosing is not None  # offered only when configured
    patient = request.patient_id
    drafts = draft_medication_requests(request.context.get("draftOrders"), patient,
                                       _selections(request))  # fmt: skip
    vancomycin = [o for o in drafts if is_vancomycin(o, dosing)]
    if not vancomycin:
        return []  # nothing to say about these orders
    try:
        twin = _twin(svc, principal, patient, dosing.kind)
        if twin is None:
            raise NoTwin(NO_TWIN)
        record = svc.twins.output(principal, patient, twin.id, "recommendation", grid(dosing))
    except OUTAGES:
        raise
    except GovernanceError as exc:
        return [_refusal_card(svc, principal, patient, exc, base)]
    return [dosing_card(record, twin, vancomycin[0], dosing, base, patient)]


def _refusal_card(
    svc: TwinregService, principal: Principal, patient: str, exc: GovernanceError, base: str
) -> dict[str, Any]:
    """A withheld decision names its failing check; any other refusal says why (both
    audited: the gate's record, or one written now)."""
    found = payload_of(svc.engine, exc.audit_id) if exc.audit_id else None
    if found is not None and isinstance(found[1].get("checks"), list):
        payload = found[1]
        return cards.withheld_card(base, "dosing recommendation", str(payload.get("model")),
                                   str(exc.audit_id), payload["checks"])  # fmt: skip
    audit_id = exc.audit_id or svc.audit.append("cds.refused", {
        "principal": principal.to_audit(), "service": "vancomycin-dosing",
        "patient": svc.pseudonymiser.site_patient_key(principal.site or "", patient),
        "reason": str(exc), "error": type(exc).__name__,
    }).record_id  # fmt: skip
    return cards.refused_card(base, "dosing recommendation", "vancomycin", audit_id, str(exc))


def _same(regimen: Mapping[str, Any], dose: float, interval: float) -> bool:
    return bool(
        abs(regimen["dose_mg"] - dose) < 1e-6 and abs(regimen["interval_h"] - interval) < 1e-6
    )


def _draft_line(draft: MedicationRequest, regimens: list[dict[str, Any]]) -> str:
    asked = draft_regimen(draft)
    if asked is None:
        return "The draft order's regimen could not be read (dose in mg or g, period in h or d)."
    dose, interval = asked
    match = next((g for g in regimens if _same(g, dose, interval)), None)
    if match is None:
        return f"The draft order: {dose:g} mg every {interval:g} h (not in the grid ranked)."
    return (f"The draft order: {dose:g} mg every {interval:g} h: probability "
            f"{match['probability']:.0%}, expected AUC24 {match['auc24']:.0f} mg·h/L.")  # fmt: skip


def dosing_card(
    record: Record, twin: TwinView, draft: MedicationRequest, dosing: DosingService, base: str,
    patient: str,
) -> dict[str, Any]:  # fmt: skip
    regimens: list[dict[str, Any]] = record.body["recommendation"]["regimens"]
    top = regimens[0]
    lo, hi = dosing.target_auc24
    dose, interval = top["dose_mg"], top["interval_h"]
    text = (
        f"Vancomycin {dose:g} mg every {interval:g} h: {top['probability']:.0%} "
        f"probability of AUC24 {lo:g}-{hi:g} (patient twin)"
    )
    label = f"Replace the draft order with {dose:g} mg IV every {interval:g} h"
    action = {
        "type": "update",
        "description": label,
        "resource": replaced(draft, dose, interval, top["infusion_h"]),
    }
    suggestion = {
        "label": label,
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"twinreg:{record.audit_id}:replace")),
        "isRecommended": True,
        "actions": [action],
    }
    thread = f"{base}/v1/patients/{quote(patient, safe='')}/twins/{twin.id}/thread"
    return cards.card(
        record.audit_id, text, "info", cards.source(base, twin.model, twin.model_version),
        _detail(record, regimens, draft, dosing),
        [cards.link("The twin's digital thread (twinreg API)", thread)],
        suggestions=[suggestion], selectionBehavior="at-most-one",
        overrideReasons=cards.override_reasons(),
    )  # fmt: skip


def _detail(record: Record, regimens: list[dict[str, Any]], draft: MedicationRequest,
            dosing: DosingService) -> str:  # fmt: skip
    top, (lo, hi) = regimens[0], dosing.target_auc24
    rows = "\n".join(
        f"| {g['dose_mg']:g} mg every {g['interval_h']:g} h | {g['probability']:.0%} | "
        f"{g['auc24']:.0f} ({g['auc24_low']:.0f}-{g['auc24_high']:.0f}) | "
        f"{g['trough']:.1f} ({g['trough_low']:.1f}-{g['trough_high']:.1f}) |"
        for g in regimens[:3]
    )
    first = record.body.get("schedule", {}).get("first_dose")
    return (
        f"**Recommended:** {top['dose_mg']:g} mg every {top['interval_h']:g} h, each infused over "
        f"{top['infusion_h']:g} h: probability of target attainment **{top['probability']:.0%}**."
        f"\n\n**Why:** the patient's twin (calibration state {record.body.get('state')}, fitted "
        f"by Bayesian estimation to their vancomycin levels) expects a steady-state AUC24 of "
        f"{top['auc24']:.0f} mg·h/L (90% interval {top['auc24_low']:.0f}-{top['auc24_high']:.0f}) "
        f"and a trough of {top['trough']:.1f} mg/L. AUC24 is the daily dose over the clearance; "
        f"the probability is the share of the clearance's posterior that puts it within "
        f"{lo:g}-{hi:g} mg·h/L (AUC24/MIC 400-600, MIC 1 mg/L: 2020 ASHP/IDSA/PIDS/SIDP).\n\n"
        f"{md(_draft_line(draft, regimens))}\n\n"
        f"| regimen | probability | AUC24 mg·h/L (90%) | trough mg/L (90%) |\n"
        f"| --- | --- | --- | --- |\n{rows}\n\n"
        + (f"First dose: {md(first)}.\n\n" if first else "")
        + f"Audit record: `{record.audit_id}`."
    )
