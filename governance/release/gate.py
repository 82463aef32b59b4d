"""The release gate: no explained prediction leaves unless every check passes.

:meth:`ReleaseGate.facts` reads what the database says about the request, once
(:class:`~governance.release.decision.FactsReader`). :meth:`ReleaseGate.decide` runs the
checks of :data:`CHECKS` over those facts in this one order, cheapest first, stops at the
first that withholds (no patient data is used before consent is confirmed), and commits
the decision to the audit log before returning it:

1. ``role``        the caller's role may request predictions with this model (Casbin)
2. ``purpose``     the purpose is allowed by the ethics rules and intended by the model
3. ``site``        the patient is registered at the caller's site
4. ``consent``     active consents for the purpose cover the model's data categories
5. ``approval``    the version is approved (not suspended) and its artifact hash intact
6. ``bias_audit``  a passing bias audit younger than the policy's maximum age
7. ``envelope``    the features lie inside the validated population envelope
8. ``explanation`` compute, explain, and check that the explanation adds up

Each check is a small function of the :class:`Deliberation` returning a :class:`Verdict`.
Unreadable policies withhold everything (check ``policy``); a governance store that fails
while the facts are read or a check runs withholds too (check ``store``, recorded when
the audit log can be written) and raises :class:`~governance.errors.StoreUnavailable`.
The record holds every check with its outcome and matched rule, digests of the inputs and
outputs, never raw features. The registry and the explainer are not imported here: the
caller passes a :class:`~governance.release.decision.TwinRuntime`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine

from governance.audit.chain import AuditLog
from governance.errors import PolicyError, StoreUnavailable
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.lifecycle.transitions import APPROVED
from governance.lifecycle.versions import Lifecycle, VersionState
from governance.policy.store import PolicySet, PolicyStore
from governance.release import refusals
from governance.release.decision import (
    CheckOutcome,
    ComputationRefused,
    Deliberation,
    FactsReader,
    PredictionRequest,
    ReleaseDecision,
    RequestFacts,
    TwinRuntime,
    Verdict,
    passed,
    withheld,
)
from governance.store.db import STORE_ERRORS

_log = logging.getLogger("twinreg.gate")
_POLICY_OUTAGE = "the policies cannot be read: everything is withheld until an operator fixes them"


def role(d: Deliberation) -> Verdict:
    p, model = d.principal, d.request.model
    access = d.policy.allows(p.role, p.site, p.site or "*", f"model/{model}", "predict")
    if not access.allowed:
        return withheld(f"role {p.role!r} may not request predictions from {model}")
    return passed("allowed", access.rule)


def purpose(d: Deliberation) -> Verdict:
    ethics, wanted = d.policy.ethics, d.request.purpose
    if wanted in ethics.prohibited_purposes:
        return withheld(
            f"purpose {wanted!r} is prohibited by the ethical-use rules, whatever the consent"
        )
    if wanted not in ethics.purposes:
        return withheld(f"purpose {wanted!r} is not one of {sorted(ethics.purposes)}")
    intended = d.facts.described.card.intended_purposes
    if wanted not in intended:
        return withheld(f"the model is not intended for {wanted!r} (intended: {sorted(intended)})")
    return passed(f"{wanted!r} is an intended purpose")


def site(d: Deliberation) -> Verdict:
    p, where = d.principal, d.facts.site
    access = (
        None
        if where is None
        else d.policy.allows(p.role, p.site, where, f"model/{d.request.model}", "predict")
    )
    if access is None or not access.allowed:
        return withheld("no patient with this id is registered at your site")
    return passed("patient registered at your site", access.rule)


def consent(d: Deliberation) -> Verdict:
    needed = frozenset(d.facts.described.card.data_categories)
    missing = sorted(needed - d.facts.consented)
    if missing:
        return withheld(
            f"no active consent for purpose {d.request.purpose!r} covering data categories "
            f"{missing}"
        )
    return passed(f"active consent covers {sorted(needed)}")


def approval(d: Deliberation) -> Verdict:
    state = d.facts.serving
    if state is None or state.status != APPROVED:
        what = (
            "no approved version" if state is None else f"version {state.version} is {state.status}"
        )
        return withheld(f"{d.request.model}: {what}; nothing is served")
    try:
        d.handle = d.runtime.load(state)
    except Exception as exc:  # fail closed on any load problem
        return withheld(f"{d.request.model} v{state.version} cannot be served: {exc}")
    return passed(f"version {state.version} approved, artifact hash verified")


def bias_audit(d: Deliberation) -> Verdict:
    state = d.version
    at = d.serving.serving_audit_at(state.model, state.version, generation=d.facts.generation)
    ok, why = d.serving.audit_is_current(state.model, state.version, d.facts.at, at=at)
    return passed(why) if ok else withheld(why)


def envelope(d: Deliberation) -> Verdict:
    outside = d.version.card.outside_envelope(d.request.features)
    if not outside:
        return passed("inside the validated envelope")
    detail = "outside the validated population envelope: " + "; ".join(outside)
    if d.policy.ethics.envelope_action(d.request.purpose) == "withhold":
        return withheld(detail)
    d.warnings.append(detail)
    return passed(detail, warning=True)


def explanation(d: Deliberation) -> Verdict:
    request = d.request
    try:
        computed = d.runtime.compute(d.handle, d.version, request.features, request.options)
    except ComputationRefused as exc:  # why, by class and field name: no patient value
        return withheld(f"the prediction could not be computed ({exc.reason}: {exc.field})")
    except Exception as exc:
        # the exception's text may quote an input value: only its kind is recorded
        return withheld(f"the prediction could not be computed ({type(exc).__name__})")
    if not computed.additivity_ok:
        return withheld("the explanation is not faithful: " + computed.additivity_detail)
    d.computation = computed
    d.warnings.extend(computed.warnings)
    return passed(computed.additivity_detail)


#: The checks in the order they run (the module's docstring says why this order).
CHECKS: tuple[tuple[str, Callable[[Deliberation], Verdict]], ...] = (
    ("role", role),
    ("purpose", purpose),
    ("site", site),
    ("consent", consent),
    ("approval", approval),
    ("bias_audit", bias_audit),
    ("envelope", envelope),
    ("explanation", explanation),
)
#: Their names, in order: what a released decision's audit record lists.
CHECK_ORDER: tuple[str, ...] = tuple(name for name, _ in CHECKS)


class ReleaseGate:
    def __init__(
        self,
        policies: PolicyStore,
        lifecycle: Lifecycle,
        audit: AuditLog,
        pseudonymiser: Pseudonymiser,
        engine: Engine,
    ) -> None:
        self._policies = policies
        self._lifecycle = lifecycle
        self._audit = audit
        self._pseudonymiser = pseudonymiser
        self._facts = FactsReader(
            engine, lifecycle, pseudonymiser, policy_lines_in_database=policies.rules is not None
        )

    def facts(
        self,
        principal: Principal,
        model: str,
        version: str | None,
        patient_id: str,
        purpose: str,
        action: str = "prediction",
    ) -> RequestFacts:
        """The request's facts, read now (:meth:`FactsReader.read`). A store that fails
        withholds the decision ``action`` would have made: recorded if the audit log can
        still be written, then :class:`StoreUnavailable`."""
        try:
            return self._facts.read(principal, model, version, patient_id, purpose)
        except STORE_ERRORS as exc:
            _log.error("decision withheld: the facts could not be read: %s", exc)
            key = self._facts.patient_key(principal, patient_id)
            audit_id = refusals.record_store_outage(
                self._audit, principal, key, model, purpose, action
            )
            raise StoreUnavailable(refusals.STORE_OUTAGE, audit_id=audit_id) from exc

    def resolve(self, model: str, version: str | None) -> tuple[VersionState | None, VersionState]:
        """The version a request names (:meth:`FactsReader.resolve`), without its facts."""
        return self._facts.resolve(model, version)

    def decide(
        self,
        principal: Principal,
        request: PredictionRequest,
        facts: RequestFacts,
        runtime: TwinRuntime,
        action: str = "prediction",
        digest: Callable[[bytes], str] | None = None,
    ) -> ReleaseDecision:
        """Run the checks over ``facts`` (read for this request) and record the decision.

        The record's input and output digests are keyed with ``digest`` when given (a
        patient twin's operations: HMACs under the patient's own key, unlinkable once it
        is erased), else with the pseudonymiser's key."""
        asked = (request.model, request.patient_id, request.purpose)
        if (facts.model, facts.patient_id, facts.purpose) != asked:
            raise ValueError("the facts were read for another request")
        policy = self._policy(facts.policy_generation)
        outcomes: list[CheckOutcome] = []
        d: Deliberation | None = None
        store_failed = False
        if policy is None:
            outcomes.append(CheckOutcome("policy", False, _POLICY_OUTAGE))
        else:
            serving = self._lifecycle.serving
            d = Deliberation(principal, request, facts, policy, runtime, serving)
            for name, check in CHECKS:
                try:
                    verdict = check(d)
                except STORE_ERRORS as exc:
                    _log.error("decision withheld: the store failed in check %s: %s", name, exc)
                    store_failed = True
                    outcomes.append(CheckOutcome("store", False, refusals.STORE_OUTAGE))
                    break
                v = verdict
                outcomes.append(CheckOutcome(name, v.passed, v.detail, v.rule, v.warning))
                if not verdict.passed:
                    break
        released = all(o.passed for o in outcomes)
        computation = d.computation if d is not None and released else None
        warnings = tuple(d.warnings) if d is not None else ()
        # the version is named once the caller's role may use the model at all
        past_role = len(outcomes) > 1 or (outcomes[0].check == "role" and outcomes[0].passed)
        version = facts.serving.version if facts.serving and past_role else None
        body = {
            "principal": principal.to_audit(),
            "patient": facts.patient_key,
            "purpose": request.purpose,
            "model": request.model,
            "model_version": version,
            "decision": "released" if released else "withheld",
            "checks": [o.to_dict() for o in outcomes],
            "policy_version": policy.version if policy else None,
            "input_digest": self._digest(request.features, digest),
            "output_digest": (
                self._digest({"p": computation.prediction, "e": computation.explanation}, digest)
                if computation
                else None
            ),
            "warnings": list(warnings),
        }
        entry = self._audit.append(action, body)
        if store_failed:
            raise StoreUnavailable(refusals.STORE_OUTAGE, audit_id=entry.record_id)
        return ReleaseDecision(
            released,
            entry.record_id,
            request.model,
            version,
            tuple(outcomes),
            computation,
            warnings,
        )

    def record_refusal(
        self, principal: Principal | None, action: str, details: Mapping[str, Any]
    ) -> str:
        """Audit a request refused for bad input (:func:`refusals.record_refusal`)."""
        return refusals.record_refusal(self._audit, self._facts, principal, action, details)

    def _policy(self, generation: int | None) -> PolicySet | None:
        """The policies to decide on: at least as new as the lines' ``generation`` read
        with the facts (re-read first when older), so that a change committed before the
        request started binds it in every worker, whatever its watcher has heard."""
        try:
            return self._policies.current(generation)
        except PolicyError as exc:
            # the reason names files on the server: the log has it, the client not
            _log.error("decision withheld: the policies cannot be read: %s", exc)
            return None

    def _digest(self, value: Any, digest: Callable[[bytes], str] | None = None) -> str:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
        return (digest or self._pseudonymiser.digest)(text.encode("utf-8"))
