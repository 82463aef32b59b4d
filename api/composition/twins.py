"""Patient twins: create, ingest observations, calibrate, forecast, recommend, the thread,
erase. One method per route; each names the patient as (the caller's site, or ``site``
for a caller bound to none, and the id).

Creation, calibration, forecasts and recommendations pass the release gate like a
prediction (:mod:`api.composition.twin_gate`). Ingestion needs, per observation, an
active consent covering its data category for the purpose of each active twin of the
patient (or the ``purpose`` named): without it nothing is stored (403, audited). Every
read of observations, states and the thread is audited. Ingestion may join a caller's
transaction (``conn``: a FHIR transaction Bundle's), reading and writing on it; a refusal
raised there is the caller's to record after its rollback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from api.composition.twin_gate import decide
from api.composition.twin_kinds import Compute, TwinKindAdapter, adapter_for
from api.composition.twin_moves import TwinMoves
from api.composition.twin_scenario import checked_scenario
from api.composition.validation import check_reference
from governance.audit.chain import AuditLog
from governance.clock import utcnow
from governance.consent.patient_keys import categories_of, consents_column, find, lookup_params
from governance.errors import Conflict, Forbidden, InvalidInput, NotFound, PatientErased
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.policy.store import PolicyStore
from governance.release.decision import PredictionRequest, TwinRuntime
from governance.release.gate import ReleaseGate
from governance.store.db import reading
from governance.twins.bank import ACTIVE, TwinBank
from governance.twins.entries import check_entries, parse_time
from governance.twins.gaps import ConsentGaps, Gap
from governance.twins.keys import ERASED
from governance.twins.views import Record, TwinView


def replay(
    observations: list[Record], used: list[str], kind: str = "pk_vancomycin"
) -> dict[str, Any]:
    """Calibrate again from exactly the observations a state used (the thread's replay)."""
    adapter = adapter_for(kind)
    assert adapter is not None, kind
    return adapter.calibrate([o for o in observations if o.id in set(used)])


class TwinService:
    def __init__(
        self,
        engine: Engine,
        gate: ReleaseGate,
        runtime: TwinRuntime,
        bank: TwinBank,
        audit: AuditLog,
        policies: PolicyStore,
        pseudonymiser: Pseudonymiser,
        time_zone: ZoneInfo | None = None,
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._runtime = runtime
        self.bank = bank
        self.gaps = ConsentGaps(engine, audit)
        self._audit = audit
        self._policies = policies
        self._pseudonymiser = pseudonymiser
        self._moves = TwinMoves(gate, runtime, bank, audit, policies)
        #: The site's time zone (``TWINREG_SITE_TIME_ZONE``): recommended dose times in it.
        self.time_zone = time_zone or ZoneInfo("UTC")

    # -- who may act on whose twins -------------------------------------------------------
    def patient(
        self,
        principal: Principal,
        patient_id: str,
        act: str,
        site: str | None,
        conn: Connection | None = None,
    ) -> str:
        """The stored key of the patient, if the caller may ``act`` on twins at their site
        (a refusal is audited where it meets HTTP; a patient at another site is unknown).
        ``conn``: read in the caller's transaction."""
        policy = self._policies.current()
        target = site if site is not None else principal.site
        own = principal.site or "*"
        if not policy.allows(principal.role, principal.site, own, "twin", act).allowed:
            raise Forbidden(f"role {principal.role!r} may not {act} patient twins")
        if target is None:
            raise InvalidInput("site is required for a caller bound to no site", field="site")
        if not policy.allows(principal.role, principal.site, target, "twin", act).allowed:
            raise Forbidden(f"role {principal.role!r} may not {act} twins at site {target!r}")
        with reading(self._engine, conn) as tx:
            key = find(tx, lookup_params(self._pseudonymiser, target, patient_id))
        if key is None:
            raise NotFound(f"no patient with this id is registered at site {target!r}")
        if act == "write" and self.bank.is_erased(key, conn=conn):
            raise PatientErased(ERASED)
        return key

    def _at_site(self, principal: Principal) -> None:
        """What passes the release gate is done at the patient's site (like a prediction):
        a caller bound to no site is refused before anything is looked up."""
        if principal.site is None:
            raise Forbidden(
                f"role {principal.role!r} may not create, calibrate, forecast or dose twins: "
                "a clinician of the patient's site does"
            )

    def _twin(self, principal: Principal, patient_id: str, twin_id: str, act: str) -> TwinView:
        self._at_site(principal)
        key = self.patient(principal, patient_id, act, None)
        twin = self.bank.twin(key, twin_id)
        if twin.status != ACTIVE:
            raise Conflict(f"twin {twin_id} is {twin.status}: it serves nothing")
        return twin

    def _used_categories(self, twin: TwinView) -> tuple[str, ...]:
        """The data categories of what the twin's kind reads (its consent gaps')."""
        kinds = self._policies.current().observation_kinds
        adapter = adapter_for(self._kind(twin))
        used = adapter.used_kinds if adapter is not None else frozenset()
        return tuple(sorted({kinds[k].category for k in used if k in kinds}))

    def _complete(self, twin: TwinView, patient_id: str) -> TwinView:
        """The twin, unless a consent gap leaves it incomplete (409 saying why)."""
        gaps = self.gaps.open_gaps(twin, self._used_categories(twin))
        if gaps:
            raise Conflict(
                f"twin {twin.id} is incomplete: consent for purpose {twin.purpose!r} lapsed "
                f"from {'; '.join(g.describe() for g in gaps)}; observations refused then "
                "(a dose) would bias the estimate. Send what happened in the gap and confirm "
                "it filled, or confirm it empty: POST /v1/patients/"
                f"{patient_id}/twins/{twin.id}/consent-gaps {{start, resolution}}"
            )
        return twin

    def confirm_gap(
        self, principal: Principal, patient_id: str, twin_id: str, start: object,
        resolution: str,
    ) -> tuple[Gap, int, str]:  # fmt: skip
        """A clinician confirms a consent gap of the twin filled or empty (audited)."""
        at = parse_time("consent_gap", "start", start)
        twin = self._twin(principal, patient_id, twin_id, "write")
        times = [parse_time("observation", "time", o.body["time"])
                 for o in self.bank.observations(twin.patient_key)]  # fmt: skip
        audit = {
            "principal": principal.to_audit(),
            "patient": twin.patient_key,
            "twin": twin.id,
            "policy_version": self._policies.current().version,
        }
        return self.gaps.confirm(
            principal, twin, self._used_categories(twin), at, resolution, times, audit
        )

    # -- routes ---------------------------------------------------------------------------
    def create(
        self, principal: Principal, patient_id: str, model: str, version: str | None, purpose: str
    ) -> TwinView:
        self._at_site(principal)
        check_reference(model, version, purpose)
        key = self.patient(principal, patient_id, "write", None)
        try:
            _, described = self._gate.resolve(model, version)
        except NotFound as exc:
            raise InvalidInput(f"{exc}; GET /v1/models lists the models", field="model") from exc
        if not described.card.kind.is_mechanistic:
            raise InvalidInput(f"{model} is not a mechanistic or dosing twin", field="model")
        request = PredictionRequest(model, patient_id, purpose, {}, version, {})
        digest = self.bank.digester(key)
        decision, _ = decide(
            self._gate, self._runtime, principal, request, "twin.create", lambda: {"state": 0},
            digest,
        )  # fmt: skip
        assert decision.model_version is not None and principal.site is not None
        key = self.patient(principal, patient_id, "write", None)
        return self.bank.add_twin(
            principal, key, principal.site, model, decision.model_version, purpose,
            decision.audit_id,
        )  # fmt: skip

    def ingest(
        self,
        principal: Principal,
        patient_id: str,
        observations: object,
        purpose: str | None,
        site: str | None,
        context: Mapping[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> tuple[list[str], list[str], str]:
        """Store the observations (idempotent per patient, source and id) in one
        transaction with one ``observation.ingest`` record; ``context`` (what an adapter
        at the edge adds: the device, the transport, the messages) joins that record.
        With ``conn``: in the caller's transaction (consent read there too)."""
        key = self.patient(principal, patient_id, "write", site, conn)
        policy = self._policies.current()
        entries = check_entries(observations, policy.observation_kinds)
        purposes = {purpose} if purpose else {t.purpose for t in self.bank.twins(key, conn=conn)}
        if not purposes:
            raise InvalidInput(
                "name a purpose, or create a twin first: consent is judged per purpose",
                field="purpose",
            )
        target = site or principal.site
        needed = {e.category for e in entries}
        base = {"principal": principal.to_audit(), "patient": key, "site": target}
        for wanted in sorted(purposes):
            missing = sorted(needed - self._consented(patient_id, target, wanted, conn))
            if missing:
                body = {**base, "purpose": wanted, "missing": missing, "count": len(entries)}
                withheld = Forbidden(
                    f"withheld: no active consent for purpose {wanted!r} covering data "
                    f"categories {missing}; nothing was stored"
                )
                if conn is None:  # else recorded by the caller, after its rollback
                    withheld.audit_id = self._audit.append("observation.withheld", body).record_id
                raise withheld
        audit = {**base, "purposes": sorted(purposes), "policy_version": policy.version}
        return self.bank.ingest(principal, key, entries, {**(context or {}), **audit}, conn=conn)

    def _consented(
        self, patient_id: str, site: str | None, purpose: str, conn: Connection | None
    ) -> frozenset[str]:
        params = {
            **lookup_params(self._pseudonymiser, site, patient_id),
            "purpose": purpose,
            "at": utcnow(),
        }
        column = consents_column(self._engine.dialect.name)
        with reading(self._engine, conn) as tx:
            return categories_of(tx.execute(select(column), params).scalar_one_or_none())

    def _adapter(self, twin: TwinView) -> TwinKindAdapter:
        adapter = adapter_for(self._kind(twin))
        if adapter is None:
            raise InvalidInput(f"calibration of {twin.model} twins is not available", field="model")
        return adapter

    def kind_of(self, twin: TwinView) -> str:
        """The twin's kind (its version's card), e.g. ``pk_vancomycin``."""
        return self._kind(twin)

    def _kind(self, twin: TwinView) -> str:
        return str(self._gate.resolve(twin.model, twin.model_version)[1].card.kind.value)

    def _request(self, twin: TwinView, patient_id: str) -> PredictionRequest:
        return PredictionRequest(twin.model, patient_id, twin.purpose, {}, twin.model_version, {})

    def calibrate(self, principal: Principal, patient_id: str, twin_id: str) -> Record:
        twin = self._complete(self._twin(principal, patient_id, twin_id, "write"), patient_id)

        adapter = self._adapter(twin)

        def operation() -> dict[str, Any]:
            return adapter.calibrate(self.bank.observations(twin.patient_key))

        decision, body = decide(
            self._gate, self._runtime, principal, self._request(twin, patient_id),
            "twin.calibration", operation, self.bank.digester(twin.patient_key),
        )  # fmt: skip
        state = self.bank.add_state(principal, twin, body["status"], body, decision.audit_id)
        if state.status != "converged":
            failed = InvalidInput(
                f"the calibration did not converge ({body['message']}): stored as failed "
                f"state {state.number}, never served",
                field="observations",
            )
            # why, by class and the solver's own words (counts, no patient value)
            failed.audit_id = self._audit.append("twin.calibration.failed", {
                "principal": principal.to_audit(), "patient": twin.patient_key,
                "twin": twin.id, "state": state.number, "gate_record": decision.audit_id,
                "reason": "not_converged", "solver": body["message"],
            }).record_id  # fmt: skip
            raise failed
        return state

    def latest_state(self, twin: TwinView) -> Record:
        converged = [s for s in self.bank.states(twin) if s.status == "converged"]
        if not converged:
            raise InvalidInput("the twin has no converged calibration yet", field="state")
        return converged[-1]

    def output(
        self,
        principal: Principal,
        patient_id: str,
        twin_id: str,
        kind: str,
        request: Mapping[str, Any],
    ) -> Record:
        """A forecast or recommendation from the latest converged state, through the gate:
        the caller's authority first, then the request (checked by the twin's kind), then
        the gate."""
        twin = self._complete(self._twin(principal, patient_id, twin_id, "write"), patient_id)
        compute = self._compute(twin, kind, request)

        def operation() -> dict[str, Any]:
            state = self.latest_state(twin)
            result = compute(self.bank.observations(twin.patient_key), state.body)
            return {**result, "state": state.number}

        decision, body = decide(
            self._gate, self._runtime, principal, self._request(twin, patient_id),
            f"twin.{kind}", operation, self.bank.digester(twin.patient_key),
        )  # fmt: skip
        return self.bank.add_output(principal, twin, body["state"], kind, body, decision.audit_id)

    def move(
        self,
        principal: Principal,
        patient_id: str,
        twin_id: str,
        version: str | None,
        reason: str,
    ) -> tuple[TwinView, Record, Record]:
        """Move the twin to the approved version of its model (or the ``version`` named,
        which the gate requires approved): recalibrated from its observations under it,
        through the gate; the move recorded with its first state there. A calibration that
        does not converge moves nothing (422, audited). See :mod:`api.composition.twin_moves`."""
        twin = self._complete(self._twin(principal, patient_id, twin_id, "write"), patient_id)
        return self._moves.move(principal, patient_id, twin, version, reason, self._adapter)

    def _compute(self, twin: TwinView, kind: str, request: Mapping[str, Any]) -> Compute:
        adapter = self._adapter(twin)
        if request.get("scenario") is not None:  # checked like observations, never stored
            kinds = self._policies.current().observation_kinds
            request = {**request, "scenario": checked_scenario(request["scenario"], kinds)}
        if kind == "forecast":
            return adapter.forecast(request)
        compute = adapter.recommendation(request, self.time_zone)
        if compute is None:
            raise InvalidInput(f"{twin.model} twins recommend no regimen", field="model")
        return compute

    def thread(
        self, principal: Principal, patient_id: str, twin_id: str, site: str | None
    ) -> tuple[TwinView, list[Record], str]:
        """Every observation, state and output in the order recorded; the read audited.
        The twin's status reads ``incomplete`` while a consent gap of it is open."""
        key = self.patient(principal, patient_id, "read", site)
        twin = self.bank.twin(key, twin_id)
        records = [
            *self.bank.observations(key),
            *self.bank.states(twin),
            *self.bank.outputs(twin),
            *self.bank.moves(twin),
        ]
        records.sort(key=lambda r: (r.at, r.id))
        if twin.status == ACTIVE and self.gaps.open_gaps(twin, self._used_categories(twin)):
            twin = dataclasses.replace(twin, status="incomplete")  # a consent gap is open
        body = {
            "principal": principal.to_audit(),
            "patient": key,
            "twin": twin.id,
            "records": len(records),
            "policy_version": self._policies.current().version,
        }
        return twin, records, self._audit.append("twin.thread.read", body).record_id

    def erase(self, principal: Principal, patient_id: str, reason: str, site: str | None) -> str:
        key = self.patient(principal, patient_id, "erase", site)
        body = {
            "principal": principal.to_audit(),
            "patient": key,
            "site": site or principal.site,
            "reason": reason,
            "policy_version": self._policies.current().version,
        }
        return self.bank.erase(principal, key, body)
