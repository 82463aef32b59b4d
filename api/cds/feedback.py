"""Feedback on cards (``POST /cds-services/{id}/feedback``): what the clinician did with a
card, recorded like an override (``OverrideService.record_once``).

A card's ``uuid`` is its decision's audit id. The feedback names no user: the clinician is
the principal the decision was made for, who must still be mapped by the calling issuer
(an EHR reports only on cards its own users were shown; another card is unknown to it:
404, audited). ``accepted`` and ``overridden`` (its ``overrideReason`` as the reason)
count in the ethics report with the API's overrides. A card that released nothing (an
info card) is noted in the audit log only. Sent again, the same outcome changes nothing
(idempotent); another outcome for a card already recorded is a conflict (409).
"""

from __future__ import annotations

from typing import Any, cast

from api.cds.discovery import ServiceInfo
from api.cds.issuers import Issuer
from api.cds.requests import Feedback
from api.composition.service import TwinregService
from governance.audit.reads import payload_of
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.oversight.overrides import OverrideAction

NO_REASON = "no reason given (CDS Hooks feedback)"


def _clinician(
    svc: TwinregService, issuer: Issuer, info: ServiceInfo, item: Feedback
) -> tuple[Principal, dict[str, Any]]:
    """The decision's principal and payload, if it is a card of this service and of a
    user the issuer maps (404 otherwise: audited as a refusal by the API)."""
    found = payload_of(svc.engine, item.card)
    unknown = NotFound(f"no card {item.card} of service {info.id!r} for this EHR")
    if found is None or found[0] != info.decision_action:
        raise unknown
    payload = found[1]
    who = payload.get("principal") or {}
    mapped = {(m.user, m.role, m.site) for m in issuer.users.values()}
    if (who.get("user"), who.get("role"), who.get("site")) not in mapped:
        raise unknown
    return Principal(who["user"], who["role"], who["site"]), payload


def _one(svc: TwinregService, issuer: Issuer, info: ServiceInfo, item: Feedback) -> str:
    principal, payload = _clinician(svc, issuer, info, item)
    if payload.get("decision") != "released":
        svc.audit.append("cds.feedback.noted", {
            "principal": principal.to_audit(), "card": item.card, "outcome": item.outcome,
            "issuer": issuer.issuer, "service": info.id, "note": "the card released nothing",
        })  # fmt: skip
        return "noted"
    reason = item.reason or (NO_REASON if item.outcome == "overridden" else "")
    action = cast(OverrideAction, item.outcome)
    _, created = svc.overrides.record_once(principal, item.card, action, reason)
    return item.outcome if created else "already recorded"


def record_feedback(
    svc: TwinregService, issuer: Issuer, info: ServiceInfo, items: list[Feedback]
) -> dict[str, Any]:
    """Every entry checked first (an unknown card refuses the whole request), then each
    recorded."""
    for item in items:
        _clinician(svc, issuer, info, item)
    return {"feedback": [{"card": i.card, "recorded": _one(svc, issuer, info, i)}
                         for i in items]}  # fmt: skip
