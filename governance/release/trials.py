"""The release gate of an in-silico trial: once per trial, before any work is sent out
(never inside a Ray task), cheapest check first, stopping at the first that withholds:

1. ``role``        the caller's role may run trials with this model (Casbin ``trial``)
2. ``purpose``     ``research`` is allowed by the ethics rules and intended by the model
3. ``site``        a real-patient cohort is of the caller's own site (``draw_patients``)
4. ``consent``     re-checked now, per patient: a patient whose consent for research no
                   longer covers the model's data categories leaves the cohort (counted);
                   fewer than the minimum cell size left withholds the whole trial
5. ``approval``    the version is approved (not suspended) and its artifact hash intact
6. ``bias_audit``  a passing bias audit younger than the policy's maximum age

A trial withheld is recorded (``trial.refused``, decision withheld: who, cohort and its
digest, every check run with its outcome) and raised as
:class:`~governance.errors.Forbidden` carrying the record's id; a trial cleared is
recorded when its job starts (:mod:`governance.research.jobs`), with the checks returned
here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from governance.audit.chain import AuditLog
from governance.clock import utcnow
from governance.errors import Forbidden, NotFound, PolicyError
from governance.identity.principal import Principal
from governance.lifecycle.transitions import APPROVED
from governance.lifecycle.versions import Lifecycle, VersionState
from governance.policy.store import PolicySet, PolicyStore
from governance.release.decision import CheckOutcome, Verdict, passed, withheld
from governance.research.cohorts import Cohort, Member
from governance.research.members import RESEARCH, consenting, still_in

_log = logging.getLogger("twinreg.gate")
Loader = Callable[[VersionState], object]


@dataclass
class TrialDeliberation:
    principal: Principal
    cohort: Cohort
    engine: Engine
    lifecycle: Lifecycle
    model: str
    version: str | None
    policy: PolicySet
    load: Loader
    at: datetime
    state: VersionState | None = None
    members: list[Member] = field(default_factory=list)
    withdrawn: int = 0
    handle: object | None = None


@dataclass(frozen=True)
class TrialClearance:
    """A trial cleared: the version it runs, the patients still in the cohort (real
    patients) and how many left it, the loaded twin, and the checks for the record."""

    state: VersionState
    members: tuple[Member, ...]
    withdrawn: int
    handle: object
    checks: tuple[CheckOutcome, ...]
    policy: PolicySet

    def to_audit(self) -> dict[str, Any]:
        return {
            "checks": [c.to_dict() for c in self.checks],
            "policy_version": self.policy.version,
        }


def role(d: TrialDeliberation) -> Verdict:
    p = d.principal
    access = d.policy.allows(p.role, p.site, p.site or "*", f"model/{d.model}", "trial")
    if not access.allowed:
        return withheld(f"role {p.role!r} may not run trials with {d.model}")
    return passed("allowed", access.rule)


def purpose(d: TrialDeliberation) -> Verdict:
    ethics = d.policy.ethics
    if RESEARCH in ethics.prohibited_purposes or RESEARCH not in ethics.purposes:
        return withheld(f"purpose {RESEARCH!r} is not allowed by the ethical-use rules")
    if d.state is None:
        return withheld(f"{d.model}: no approved version; nothing is served")
    intended = d.state.card.intended_purposes
    if RESEARCH not in intended:
        return withheld(
            f"the model is not intended for {RESEARCH!r} (intended: {sorted(intended)})"
        )
    return passed(f"{RESEARCH!r} is an intended purpose")


def site(d: TrialDeliberation) -> Verdict:
    if not d.cohort.real_patients:
        return passed("virtual patients: no site")
    p = d.principal
    access = d.policy.allows(p.role, p.site, d.cohort.site, "cohort", "draw_patients")
    if not access.allowed:
        return withheld("the cohort's patients are not of your site")
    return passed("the cohort's patients are of your site", access.rule)


def consent(d: TrialDeliberation) -> Verdict:
    if not d.cohort.real_patients or d.cohort.site is None or d.state is None:
        return passed("virtual patients: no consent needed")
    members = d.cohort.members
    categories = d.state.card.data_categories
    ok = consenting(d.engine, d.cohort.site, [m.patient for m in members], categories, d.at)
    d.members = still_in(members, ok)
    d.withdrawn = len(members) - len(d.members)
    least = d.policy.research.min_cell_size
    if len(d.members) < least:
        return withheld(
            f"fewer than {least} patients of the cohort still consent to research covering "
            f"{sorted(categories)}"
        )
    left = f"; {d.withdrawn} left the cohort (consent withdrawn)" if d.withdrawn else ""
    return passed(f"active consents for research cover {sorted(categories)}{left}")


def approval(d: TrialDeliberation) -> Verdict:
    state = d.state
    if state is None or state.status != APPROVED:
        what = (
            "no approved version" if state is None else f"version {state.version} is {state.status}"
        )
        return withheld(f"{d.model}: {what}; nothing is served")
    try:
        d.handle = d.load(state)
    except Exception as exc:  # fail closed on any load problem
        return withheld(f"{d.model} v{state.version} cannot be served: {exc}")
    return passed(f"version {state.version} approved, artifact hash verified")


def bias_audit(d: TrialDeliberation) -> Verdict:
    assert d.state is not None  # the approval check ran first
    ok, why = d.lifecycle.serving.audit_is_current(d.state.model, d.state.version, d.at)
    return passed(why) if ok else withheld(why)


CHECKS: tuple[tuple[str, Callable[[TrialDeliberation], Verdict]], ...] = (
    ("role", role),
    ("purpose", purpose),
    ("site", site),
    ("consent", consent),
    ("approval", approval),
    ("bias_audit", bias_audit),
)
_POLICY_OUTAGE = "the policies cannot be read: everything is withheld until an operator fixes them"


class TrialGate:
    def __init__(
        self, policies: PolicyStore, lifecycle: Lifecycle, audit: AuditLog, engine: Engine
    ) -> None:
        self._policies = policies
        self._lifecycle = lifecycle
        self._audit = audit
        self._engine = engine

    def clear(
        self, principal: Principal, cohort: Cohort, model: str, version: str | None, load: Loader
    ) -> TrialClearance:
        """Run the checks; a trial withheld is recorded and raised (:class:`Forbidden`)."""
        state = self._resolve(model, version)
        outcomes: list[CheckOutcome] = []
        policy: PolicySet | None
        try:
            policy = self._policies.current()
        except PolicyError as exc:
            _log.error("trial withheld: the policies cannot be read: %s", exc)
            policy = None
        d: TrialDeliberation | None = None
        if policy is None:
            outcomes.append(CheckOutcome("policy", False, _POLICY_OUTAGE))
        else:
            d = TrialDeliberation(
                principal, cohort, self._engine, self._lifecycle, model, version, policy, load,
                utcnow(), state,
            )  # fmt: skip
            for name, check in CHECKS:
                verdict = check(d)
                outcomes.append(
                    CheckOutcome(
                        name, verdict.passed, verdict.detail, verdict.rule, verdict.warning
                    )
                )
                if not verdict.passed:
                    break
        if d is not None and policy is not None and all(o.passed for o in outcomes):
            assert d.state is not None
            members = tuple(d.members) if cohort.real_patients else ()
            return TrialClearance(d.state, members, d.withdrawn, d.handle, tuple(outcomes), policy)
        past_role = len(outcomes) > 1 or (outcomes[0].check == "role" and outcomes[0].passed)
        body = {
            "principal": principal.to_audit(),
            "cohort": cohort.id,
            "cohort_digest": cohort.digest,
            "purpose": RESEARCH,
            "model": model,
            "model_version": state.version if state is not None and past_role else None,
            "decision": "withheld",
            "checks": [o.to_dict() for o in outcomes],
            "policy_version": policy.version if policy else None,
            "withdrawn": d.withdrawn if d is not None else 0,
        }
        entry = self._audit.append("trial.refused", body)
        reasons = "; ".join(f"{o.check}: {o.detail}" for o in outcomes if not o.passed)
        refused = Forbidden(f"withheld: {reasons}")
        refused.audit_id = entry.record_id
        raise refused

    def _resolve(self, model: str, version: str | None) -> VersionState | None:
        """The version named (NotFound when it does not exist), else the approved one,
        else the latest (which the approval check then refuses, saying its status)."""
        if version is not None:
            return self._lifecycle.version(model, version)
        approved = self._lifecycle.serving.serving_version(model)
        if approved is not None:
            return approved
        versions = self._lifecycle.versions(model)
        if not versions:
            raise NotFound(f"unknown model {model!r}; GET /v1/models lists the models")
        return versions[-1]
