"""``POST /fhir``: a transaction Bundle through the same service calls as ``/v1``
(patients.register, patients.grant / withdraw, twins.ingest); FHIR adds no rule.

All or nothing, in one database transaction. Before it, the caller's role, then the
Bundle (validated and mapped: 400 / 422 naming the element). In it, holding the audit
chain's lock (every other audited write waits, so nothing read there changes before the
commit): per patient the site and each action's authority, the patient's existence, an
erased patient, the consents a Bundle withdraws, and the consent that each observation
needs given the Bundle's own Consents and the stored ones; then each service call writes
in that same transaction (``conn=``: the patients registered, the consents granted or
withdrawn, the observations ingested, each with its audit record, sealed and digested
under the patient's key as ever), and the transaction commits once at the end. A refusal
or a failure anywhere (an observation conflicting with a stored one, a database error)
rolls all of it back; the refusal is then recorded on its own (``observation.withheld``
here, any other where the error meets HTTP: ``request.refused``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from api.composition.fhir_coverage import (
    covered,
    judged_purposes,
    needed,
    stored_consents,
    withdrawn_ids,
)
from api.fhir.bundle import (
    PatientPlan,
    TransactionPlan,
    decode,
    parse_bundle,
    plan_transaction,
)
from api.fhir.outcome import as_json, operation_outcome
from governance.clock import utcnow
from governance.consent.patient_keys import find, lookup_params
from governance.errors import Forbidden, InvalidInput, NotFound, PatientErased
from governance.identity.principal import Principal
from governance.policy.store import PolicySet
from governance.twins.keys import ERASED

if TYPE_CHECKING:
    from api.composition.service import TwinregService

#: What a transaction may ask, by the resources it carries: (object, action) of the policy.
_WRITES = (
    ("patient", "register"),
    ("consent", "grant"),
    ("consent", "withdraw"),
    ("twin", "write"),
)


@dataclass(frozen=True)
class Judged:
    """A patient's pre-check: the purposes its observations are ingested for (None: the
    purposes of its active twins, judged by ingest itself)."""

    purposes: tuple[str | None, ...]


def transaction(
    service: TwinregService,
    principal: Principal,
    body: bytes,
    content_type: str,
    purpose: str | None,
) -> dict[str, Any]:
    """The transaction-response Bundle of ``body``, or the refusal of all of it."""
    policy = service.policies.current()
    if not any(_may(policy, principal, principal.site or "*", o, a) for o, a in _WRITES):
        raise Forbidden(
            f"role {principal.role!r} may not register patients, grant consents or add observations"
        )
    bundle = parse_bundle(decode(body, content_type))
    plan = plan_transaction(bundle, policy.fhir_terms, policy.observation_kinds, principal.site)
    named = _purpose(policy, purpose)
    responses: dict[int, dict[str, Any]] = {}
    try:
        with service.engine.begin() as conn:
            service.audit.hold(conn)
            judged = [_precheck(service, principal, policy, p, named, conn) for p in plan.patients]
            for patient, decided in zip(plan.patients, judged, strict=True):
                responses.update(_write(service, principal, patient, decided, conn))
    except _Withheld as withheld:  # rolled back: now its own record
        raise withheld.recorded(service) from None
    return _response(plan, responses)


def _may(policy: PolicySet, principal: Principal, site: str, obj: str, act: str) -> bool:
    return policy.allows(principal.role, principal.site, site, obj, act).allowed


def _purpose(policy: PolicySet, purpose: str | None) -> str | None:
    """``?purpose=``: a twinreg purpose or a v3 PurposeOfUse code of the term map."""
    if purpose is None:
        return None
    named = policy.fhir_terms.purposes.get(purpose, purpose)
    if named not in policy.ethics.purposes:
        raise InvalidInput(
            f"purpose must be one of {sorted(policy.ethics.purposes)} or a "
            f"code of {sorted(policy.fhir_terms.purposes)}",
            field="purpose",
        )
    return named


def _authorise(policy: PolicySet, principal: Principal, plan: PatientPlan) -> None:
    site = plan.ref.site
    assert site is not None  # the plan sites every patient
    asked = [("patient", "register")] if plan.registered_by is not None else []
    for _, terms in plan.consents:
        asked.append(("consent", "withdraw" if terms.status != "active" else "grant"))
    if plan.observations:
        asked.append(("twin", "write"))
    for obj, act in asked:
        own = principal.site or "*"
        if not (_may(policy, principal, own, obj, act) and _may(policy, principal, site, obj, act)):
            raise Forbidden(f"role {principal.role!r} may not {act} ({obj}) at site {site!r}")


def _precheck(
    service: TwinregService,
    principal: Principal,
    policy: PolicySet,
    plan: PatientPlan,
    purpose: str | None,
    conn: Connection,
) -> Judged:
    """Everything the writes of ``plan`` would refuse, refused before any of the Bundle's
    writes runs (read in the Bundle's transaction ``conn``, under the chain's lock)."""
    _authorise(policy, principal, plan)
    params = lookup_params(service.pseudonymiser, plan.ref.site, plan.ref.patient_id)
    key = find(conn, params)
    if key is None and plan.registered_by is None:
        raise NotFound(f"no patient with this id is registered at site {plan.ref.site!r}")
    stored = stored_consents(conn, key)
    withdrawn = withdrawn_ids(plan, stored)
    if not plan.observations:
        return Judged(())
    if key is not None and service.twins.bank.is_erased(key, conn=conn):
        raise PatientErased(ERASED)
    bank = service.twins.bank
    twins = [t.purpose for t in bank.twins(key, conn=conn)] if key is not None else []
    purposes = judged_purposes(plan, purpose, twins)
    grants = [g for _, t in plan.consents for g in t.grants]
    wanted = needed(plan, policy.observation_kinds)
    now = utcnow()
    for judged in purposes:
        missing = sorted(wanted - covered(judged, stored, withdrawn, grants, now))
        if missing:
            raise _Withheld(principal, params["key"] if key is None else key, plan, judged, missing)
    return Judged((None,) if purpose is None and twins else tuple(purposes))


class _Withheld(Exception):
    """Observations without consent: the Bundle's transaction rolls back, then
    :meth:`recorded` audits the refusal as ``/v1`` audits it."""

    def __init__(
        self, principal: Principal, key: str, plan: PatientPlan, purpose: str, missing: list[str]
    ) -> None:
        super().__init__(purpose)
        self.body = {
            "principal": principal.to_audit(),
            "patient": key,
            "site": plan.ref.site,
            "purpose": purpose,
            "missing": missing,
            "count": len(plan.observations),
            "via": "fhir",
        }

    def recorded(self, service: TwinregService) -> Forbidden:
        body = self.body
        withheld = Forbidden(
            f"withheld: no active consent for purpose {body['purpose']!r} covering data "
            f"categories {body['missing']}, with this Bundle's Consents; nothing of the "
            "Bundle was stored"
        )
        withheld.audit_id = service.audit.append("observation.withheld", body).record_id
        return withheld


def _write(
    service: TwinregService,
    principal: Principal,
    plan: PatientPlan,
    judged: Judged,
    conn: Connection,
) -> dict[int, dict[str, Any]]:
    """The patient's writes, through the services, in the Bundle's transaction ``conn``;
    each entry's response."""
    site, patient_id = plan.ref.site, plan.ref.patient_id
    assert site is not None
    out: dict[int, dict[str, Any]] = {}
    if plan.registered_by is not None:
        _, created = service.patients.register(principal, patient_id, site, conn=conn)
        out[plan.registered_by] = {
            "status": "201 Created" if created else "200 OK",
            "location": f"Patient/{patient_id}",
        }
    for index, terms in plan.consents:
        if terms.withdraw is not None:
            view = service.patients.withdraw(principal, patient_id, terms.withdraw, site, conn=conn)
            out[index] = {"status": "200 OK", "location": f"Consent/{view.id}"}
            continue
        views = [
            service.patients.grant(
                principal,
                patient_id,
                g.purpose,
                g.categories,
                g.valid_from,
                g.valid_until,
                site,
                conn=conn,
            )
            for g in terms.grants
        ]
        said = "; ".join(f"{v.id}: {v.purpose} {list(v.data_categories)}" for v in views)
        out[index] = {
            "status": "201 Created" if views else "200 OK",
            **({"location": f"Consent/{views[0].id}"} if views else {}),
            "outcome": operation_outcome(
                200,
                f"granted {said}" if views else "nothing granted or withdrawn",
                severity="information",
            ),
        }
    if plan.observations:
        out.update(_ingest(service, principal, plan, judged, conn))
    return out


def _ingest(
    service: TwinregService,
    principal: Principal,
    plan: PatientPlan,
    judged: Judged,
    conn: Connection,
) -> dict[int, dict[str, Any]]:
    site, raws = plan.ref.site, [entry.raw for _, entry in plan.observations]
    results = [
        service.twins.ingest(principal, plan.ref.patient_id, raws, p, site, conn=conn)
        for p in judged.purposes
    ]
    stored, again, audit_id = results[0]
    said = f"stored {len(stored)} new, {len(again)} already stored (idempotent per identifier)"
    out: dict[int, dict[str, Any]] = {}
    for k, (index, _) in enumerate(plan.observations):
        response: dict[str, Any] = {
            "status": "200 OK" if again else "201 Created",
            "outcome": operation_outcome(200, said, audit_id=audit_id, severity="information"),
        }
        if not again:
            response["location"] = f"Observation/{stored[k]}"
        out[index] = response
    return out


def _response(plan: TransactionPlan, responses: dict[int, dict[str, Any]]) -> dict[str, Any]:
    from fhir.resources.R4B.bundle import Bundle

    entries = []
    for index, kind in enumerate(plan.types):
        response = responses.get(index) or {
            "status": "200 OK",
            "outcome": operation_outcome(
                200, f"{kind} of a patient already in this Bundle", severity="information"
            ),
        }
        entries.append({"response": response})
    bundle = {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    return as_json(Bundle.model_validate(bundle))
