"""The release gate: no explained prediction leaves unless every check passes.

Checks run cheapest first and stop at the first hard failure; no patient data is used
before consent is confirmed:

1. ``role``        the caller's role may request predictions with this model (Casbin)
2. ``purpose``     the purpose is allowed by the ethics rules and intended by the model
3. ``site``        the patient is registered at the caller's site
4. ``consent``     active consents for the purpose cover the model's data categories
5. ``approval``    the version is approved (not suspended) and its artifact hash intact
6. ``bias_audit``  a passing bias audit younger than the policy's maximum age
7. ``envelope``    the features lie inside the validated population envelope
8. ``explanation`` compute, explain, and check the explanation adds up

The decision — every check with its outcome and matched rule, digests of the inputs and
outputs, never raw features — is committed to the audit log before it is returned. The
registry and the explainer are not imported here: the caller passes a :class:`TwinRuntime`.

What the database says about a request (the lifecycle generation that keys the serving
cache, the patient's site, the active consents, whether the caller's token is revoked) is
read once, in one statement, at the start of the request (:meth:`ReleaseGate.facts`): so
every check sees one snapshot, and whatever was committed before the request started — a
withdrawal, a suspension, a revocation — is honoured by every worker. The checks still
run, and stop, in the order above.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, Select, select

from governance.audit.chain import AuditLog
from governance.clock import utcnow
from governance.consent.patients import SITE_COLUMN, PatientService, categories_of, consents_column
from governance.errors import PolicyError, TokenRevoked
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.identity.revocation import REVOKED, REVOKED_COLUMN, token_binds
from governance.lifecycle.serving import GENERATION_COLUMNS, Generation, generation_of
from governance.lifecycle.versions import APPROVED, Lifecycle, VersionState
from governance.policy.store import PolicySet, PolicyStore
from governance.store.db import OneRowRead

_log = logging.getLogger("twinreg.gate")


@dataclass(frozen=True)
class Computation:
    """What the runtime hands back: the prediction and its explanation, JSON-ready."""

    prediction: dict[str, Any]
    explanation: dict[str, Any]
    additivity_ok: bool
    additivity_detail: str
    warnings: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)


class TwinRuntime(Protocol):
    """Loads verified versions and computes explained predictions (registry + explain)."""

    def load(self, state: VersionState) -> object:
        """Load (cached) and verify the artifact hash; raise on any problem."""
        ...

    def compute(
        self,
        handle: object,
        state: VersionState,
        features: Mapping[str, float],
        options: Mapping[str, Any],
    ) -> Computation: ...


@dataclass(frozen=True)
class RequestFacts:
    """What the governance database said at the start of one request, in one statement."""

    #: The time the facts hold for (consents active then; bias audit age against it).
    at: datetime
    #: The lifecycle generation: the key of the serving cache.
    generation: Generation
    #: The request's patient (kept in memory only; the database knows the key alone).
    patient_id: str
    patient_key: str
    purpose: str
    #: The patient's site (None: not registered anywhere).
    site: str | None
    #: The data categories the patient's active consents for ``purpose`` cover.
    consented: frozenset[str]


@dataclass(frozen=True)
class PredictionRequest:
    model: str
    patient_id: str
    purpose: str
    features: Mapping[str, float]
    version: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    #: The version the caller already resolved for this request (resolved once).
    resolved: VersionState | None = None
    #: The facts the caller already read for this request (:meth:`ReleaseGate.facts`).
    facts: RequestFacts | None = None


@dataclass(frozen=True)
class CheckOutcome:
    check: str
    passed: bool
    detail: str
    rule: tuple[str, ...] = ()
    #: A warning that did not stop the release (e.g. out of envelope under "warn").
    warning: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "passed": self.passed, "detail": self.detail}
        if self.rule:
            out["rule"] = list(self.rule)
        return out


@dataclass(frozen=True)
class ReleaseDecision:
    released: bool
    audit_id: str
    model: str
    model_version: str | None
    checks: tuple[CheckOutcome, ...]
    computation: Computation | None
    warnings: tuple[str, ...]

    @property
    def reasons(self) -> list[dict[str, str]]:
        return [{"check": c.check, "detail": c.detail} for c in self.checks if not c.passed]


class _Withheld(Exception):
    pass


def _facts_statement(dialect: str) -> Select[Any]:
    return select(
        *GENERATION_COLUMNS, SITE_COLUMN, consents_column(dialect), REVOKED_COLUMN.label("revoked")
    )


class ReleaseGate:
    def __init__(
        self,
        policies: PolicyStore,
        lifecycle: Lifecycle,
        patients: PatientService,
        audit: AuditLog,
        pseudonymiser: Pseudonymiser,
        engine: Engine,
    ) -> None:
        self._policies = policies
        self._lifecycle = lifecycle
        self._patients = patients
        self._audit = audit
        self._pseudonymiser = pseudonymiser
        self._read_facts = OneRowRead(engine, _facts_statement(engine.dialect.name))

    def facts(self, principal: Principal, patient_id: str, purpose: str) -> RequestFacts:
        """Read the request's facts now: one statement, one snapshot, no transaction.

        The caller's token is checked against the revocations in the same snapshot:
        a revoked token raises :class:`TokenRevoked` before anything is decided.
        """
        at = utcnow()
        key = self._pseudonymiser.patient_key(patient_id)
        token = token_binds(principal.token_id, principal.user, principal.token_issued_at)
        row = self._read_facts({"key": key, "purpose": purpose, "at": at, **token})
        if row[4]:
            raise TokenRevoked(REVOKED)
        return RequestFacts(
            at, generation_of(row), patient_id, key, purpose, row[2], categories_of(row[3])
        )

    def decide(
        self,
        principal: Principal,
        request: PredictionRequest,
        runtime: TwinRuntime,
        action: str = "prediction",
    ) -> ReleaseDecision:
        checks: list[CheckOutcome] = []
        warnings: list[str] = []
        computation: Computation | None = None
        state: VersionState | None = None
        policy_version: str | None = None  # none could be read: withheld (check policy)
        facts = request.facts
        if facts is None or (facts.patient_id, facts.purpose) != (
            request.patient_id,
            request.purpose,
        ):
            facts = self.facts(principal, request.patient_id, request.purpose)
        patient_key = facts.patient_key

        def fail(check: str, detail: str, rule: tuple[str, ...] = ()) -> _Withheld:
            checks.append(CheckOutcome(check, False, detail, rule))
            return _Withheld()

        try:
            try:
                policy = self._policies.current()
            except PolicyError as exc:
                # the reason names files on the server: the log has it, the client not
                _log.error("decision withheld: the policies cannot be read: %s", exc)
                raise fail(
                    "policy",
                    "the policies cannot be read: everything is withheld until an "
                    "operator fixes them",
                ) from exc
            policy_version = policy.version
            now = facts.at
            # 1. role
            access = policy.allows(
                principal.role,
                principal.site,
                principal.site or "*",
                f"model/{request.model}",
                "predict",
            )
            if not access.allowed:
                raise fail(
                    "role",
                    f"role {principal.role!r} may not request predictions from {request.model}",
                )
            checks.append(CheckOutcome("role", True, "allowed", access.rule))
            state = self._resolve(request, facts.generation)
            card_state = state or self._latest(request.model)
            # 2. purpose
            self._check_purpose(policy, request.purpose, card_state, checks, fail)
            # 3. site
            site = facts.site
            site_access = (
                policy.allows(
                    principal.role, principal.site, site, f"model/{request.model}", "predict"
                )
                if site is not None
                else None
            )
            if site_access is None or not site_access.allowed:
                raise fail("site", "no patient with this id is registered at your site")
            checks.append(
                CheckOutcome("site", True, "patient registered at your site", site_access.rule)
            )
            # 4. consent
            needed = frozenset(card_state.card.data_categories) if card_state else None
            have = facts.consented
            if needed is None or not needed <= have:
                missing = sorted((needed or frozenset({"unknown"})) - have)
                raise fail(
                    "consent",
                    f"no active consent for purpose "
                    f"{request.purpose!r} covering data categories "
                    f"{missing}",
                )
            checks.append(CheckOutcome("consent", True, f"active consent covers {sorted(needed)}"))
            # 5. approval + artifact
            if state is None or state.status != APPROVED:
                what = (
                    "no approved version"
                    if state is None
                    else f"version {state.version} is {state.status}"
                )
                raise fail("approval", f"{request.model}: {what}; nothing is served")
            # 6. bias audit (before loading: cheaper than hashing the artifact)
            audit_at = self._lifecycle.serving.serving_audit_at(
                state.model, state.version, generation=facts.generation
            )
            ok, why = self._lifecycle.serving.audit_is_current(
                state.model, state.version, now, at=audit_at
            )
            try:
                handle = runtime.load(state)
            except Exception as exc:  # fail closed on any load problem
                raise fail(
                    "approval", f"{request.model} v{state.version} cannot be served: {exc}"
                ) from exc
            checks.append(
                CheckOutcome(
                    "approval", True, f"version {state.version} approved, artifact hash verified"
                )
            )
            if not ok:
                raise fail("bias_audit", why)
            checks.append(CheckOutcome("bias_audit", True, why))
            # 7. envelope
            outside = _outside_envelope(state, request.features)
            if outside:
                detail = "outside the validated population envelope: " + "; ".join(outside)
                if policy.ethics.envelope_action(request.purpose) == "withhold":
                    raise fail("envelope", detail)
                checks.append(CheckOutcome("envelope", True, detail, warning=True))
                warnings.append(detail)
            else:
                checks.append(CheckOutcome("envelope", True, "inside the validated envelope"))
            # 8. compute, explain, additivity
            try:
                computation = runtime.compute(handle, state, request.features, request.options)
            except Exception as exc:
                # the exception's text may quote an input value: only its kind is recorded
                raise fail(
                    "explanation", f"the prediction could not be computed ({type(exc).__name__})"
                ) from exc
            if not computation.additivity_ok:
                raise fail(
                    "explanation",
                    "the explanation is not faithful: " + computation.additivity_detail,
                )
            checks.append(CheckOutcome("explanation", True, computation.additivity_detail))
            warnings.extend(computation.warnings)
            released = True
        except _Withheld:
            released = False
            computation = None

        body = {
            "principal": principal.to_audit(),
            "patient": patient_key,
            "purpose": request.purpose,
            "model": request.model,
            "model_version": state.version if state else None,
            "decision": "released" if released else "withheld",
            "checks": [c.to_dict() for c in checks],
            "policy_version": policy_version,
            "input_digest": self._digest(request.features),
            "output_digest": (
                self._digest({"p": computation.prediction, "e": computation.explanation})
                if computation
                else None
            ),
            "warnings": warnings,
        }
        entry = self._audit.append(action, body)
        return ReleaseDecision(
            released,
            entry.record_id,
            request.model,
            state.version if state else None,
            tuple(checks),
            computation,
            tuple(warnings),
        )

    def record_refusal(
        self, principal: Principal | None, action: str, details: Mapping[str, Any]
    ) -> str:
        """Audit a request refused for bad input (nothing else is written)."""
        body = {
            "principal": principal.to_audit() if principal else None,
            "decision": "refused",
            **details,
        }
        return self._audit.append(action + ".refused", body).record_id

    def _digest(self, value: Any) -> str:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
        return self._pseudonymiser.digest(text.encode("utf-8"))

    def _resolve(self, request: PredictionRequest, generation: Generation) -> VersionState | None:
        if request.resolved is not None:
            return request.resolved
        if request.version is None:
            return self._lifecycle.serving.serving_version(request.model, generation=generation)
        return self._lifecycle.version(request.model, request.version)

    def _latest(self, model: str) -> VersionState | None:
        versions = self._lifecycle.versions(model)
        return versions[-1] if versions else None

    @staticmethod
    def _check_purpose(
        policy: PolicySet,
        purpose: str,
        state: VersionState | None,
        checks: list[CheckOutcome],
        fail: Any,
    ) -> None:
        ethics = policy.ethics
        if purpose in ethics.prohibited_purposes:
            raise fail(
                "purpose",
                f"purpose {purpose!r} is prohibited by the ethical-use rules, whatever the consent",
            )
        if purpose not in ethics.purposes:
            raise fail("purpose", f"purpose {purpose!r} is not one of {sorted(ethics.purposes)}")
        intended = state.card.intended_purposes if state else ()
        if purpose not in intended:
            raise fail(
                "purpose",
                f"the model is not intended for {purpose!r} (intended: {sorted(intended)})",
            )
        checks.append(CheckOutcome("purpose", True, f"{purpose!r} is an intended purpose"))


def _outside_envelope(state: VersionState, features: Mapping[str, float]) -> list[str]:
    out = []
    for name, (low, high) in state.card.envelope.items():
        value = features.get(name)
        if value is None or not math.isfinite(value):
            continue
        if value < low or value > high:
            # the range only: raw feature values never enter the audit record
            out.append(f"{name} not in [{low:g}, {high:g}]")
    return out
