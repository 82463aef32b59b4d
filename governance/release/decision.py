"""What one decision is made on and of: the request, its facts read once, what the
runtime computes, each check's outcome, and the decision.

The facts: the lifecycle generation (the key of the serving cache), the patient's site,
the active consents for the purpose, whether the caller's token is revoked and, with the
Casbin lines in the database, the lines' generation come from one SELECT (one snapshot, no
transaction); the version the request names — else the approved one — is then resolved
from the serving cache that generation keys, and the gate re-reads the lines before
deciding when theirs moved. Every check sees this one record, so whatever was committed
before the request started (a withdrawal, a suspension, a revocation, a change of the
policy lines) is honoured by every worker. This is the only place where a request's
version is resolved and its facts are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Engine, Select, null, select

from governance.clock import utcnow
from governance.consent.patient_keys import (
    PATIENT_KEY_COLUMN,
    SITE_COLUMN,
    categories_of,
    consents_column,
    lookup_params,
)
from governance.errors import NotFound, TokenRevoked
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.identity.revocation import REVOKED, REVOKED_COLUMN, token_binds
from governance.lifecycle.serving import GENERATION_COLUMNS, Generation, ServingState
from governance.lifecycle.versions import Lifecycle, VersionState
from governance.policy.rules import GENERATION_COLUMN
from governance.policy.store import PolicySet
from governance.store.db import OneRowRead


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


class ComputationRefused(Exception):
    """A computation refused its data, saying why in terms an audit record may hold: a
    ``reason`` class (``missing``, ``contradictory``, ``invalid``, ``outside_model``, ...)
    and the ``field`` or covariate it concerns — names from the code, never a patient's
    value (the refusal's full text goes to the caller only)."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(f"{reason}: {field}")
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class PredictionRequest:
    model: str
    patient_id: str
    purpose: str
    features: Mapping[str, float]
    version: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


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


@dataclass(frozen=True)
class RequestFacts:
    """The facts one decision is made on (kept in memory; never written as such)."""

    #: The time the facts hold for (consents active then; bias audit age against it).
    at: datetime
    #: The lifecycle generation: the key of the serving cache.
    generation: Generation
    patient_id: str
    #: The patient's keyed pseudonym: all the database and the audit log know (the key
    #: its row is stored under; the site-scoped key when it is not registered).
    patient_key: str
    purpose: str
    #: The patient's site (None: no patient of this id at the caller's site).
    site: str | None
    #: The data categories the patient's active consents for ``purpose`` cover.
    consented: frozenset[str]
    model: str
    #: The version that would serve: the one named, else the approved one (None: none is).
    serving: VersionState | None
    #: The version whose card describes the request (features, purposes, categories):
    #: ``serving``, else the latest registered one (the gate then withholds for want of
    #: approval, after checking the rest against its card).
    described: VersionState
    #: The generation of the Casbin lines in the database (None: the lines are in files).
    policy_generation: int | None = None


class _Row(NamedTuple):
    """The facts statement's columns, by name."""

    transitions: int
    bias_audits: int
    patient_key: str | None
    site: str | None
    consents: str | None
    revoked: bool
    policy_generation: int | None


def _statement(dialect: str, policy_lines_in_database: bool) -> Select[Any]:
    policy_generation = GENERATION_COLUMN if policy_lines_in_database else null()
    return select(
        *GENERATION_COLUMNS,
        PATIENT_KEY_COLUMN,
        SITE_COLUMN,
        consents_column(dialect),
        REVOKED_COLUMN.label("revoked"),
        policy_generation.label("policy_generation"),
    )


class FactsReader:
    """Reads a request's :class:`RequestFacts`: one statement, then the version."""

    def __init__(
        self,
        engine: Engine,
        lifecycle: Lifecycle,
        pseudonymiser: Pseudonymiser,
        *,
        policy_lines_in_database: bool = False,
    ):
        """``policy_lines_in_database``: the Casbin lines are in the governance database
        (their generation is then read with the facts)."""
        self._lifecycle = lifecycle
        self._pseudonymiser = pseudonymiser
        statement = _statement(engine.dialect.name, policy_lines_in_database)
        self._read = OneRowRead(engine, statement)
        self._revoked = OneRowRead(engine, select(REVOKED_COLUMN))

    def read(
        self,
        principal: Principal,
        model: str,
        version: str | None,
        patient_id: str,
        purpose: str,
    ) -> RequestFacts:
        """The facts now. A revoked token raises :class:`TokenRevoked` before anything
        else is looked at; a model or version that does not exist raises
        :class:`NotFound`."""
        at = utcnow()
        # the patient of this id at the caller's own site (ids are scoped per site)
        patient = lookup_params(self._pseudonymiser, principal.site, patient_id)
        token = token_binds(principal.token_id, principal.user, principal.token_issued_at)
        row = _Row(*self._read({**patient, "purpose": purpose, "at": at, **token}))
        if row.revoked:
            raise TokenRevoked(REVOKED)
        generation = (int(row.transitions), int(row.bias_audits))
        serving, described = self.resolve(model, version, generation)
        return RequestFacts(
            at=at,
            generation=generation,
            patient_id=patient_id,
            patient_key=row.patient_key or patient["key"],
            purpose=purpose,
            site=row.site,
            consented=categories_of(row.consents),
            model=model,
            serving=serving,
            described=described,
            policy_generation=None if row.policy_generation is None else int(row.policy_generation),
        )

    def token_revoked(self, principal: Principal | None) -> bool:
        """Whether ``principal``'s token is revoked, read alone: for a request refused
        before its facts are read (never for a principal without a token)."""
        if principal is None or principal.token_id is None:
            return False
        token = token_binds(principal.token_id, principal.user, principal.token_issued_at)
        return bool(self._revoked(token)[0])

    def patient_key(self, principal: Principal, patient_id: str) -> str:
        """The site-scoped pseudonym of the request's patient (without reading whether,
        or under which key, it is stored: see :meth:`read`)."""
        return self._pseudonymiser.site_patient_key(principal.site or "", patient_id)

    def resolve(
        self, model: str, version: str | None, generation: Generation | None = None
    ) -> tuple[VersionState | None, VersionState]:
        """(the version that would serve, the version whose card describes the request):
        the named version for both; else the approved one, or (None, the latest)."""
        if version is not None:
            named = self._lifecycle.version(model, version)
            return named, named
        approved = self._lifecycle.serving.serving_version(model, generation=generation)
        if approved is not None:
            return approved, approved
        versions = self._lifecycle.versions(model)
        if not versions:
            raise NotFound(f"unknown model {model!r}; GET /v1/models lists the models")
        return None, versions[-1]


@dataclass(frozen=True)
class Verdict:
    """One check's outcome: passed or not, why, and the policy line that matched."""

    passed: bool
    detail: str
    rule: tuple[str, ...] = ()
    #: Passed with a warning (e.g. out of the envelope where the rules say "warn").
    warning: bool = False


def passed(detail: str, rule: tuple[str, ...] = (), *, warning: bool = False) -> Verdict:
    return Verdict(True, detail, rule, warning)


def withheld(detail: str) -> Verdict:
    return Verdict(False, detail)


@dataclass
class Deliberation:
    """One decision while its checks run."""

    principal: Principal
    request: PredictionRequest
    facts: RequestFacts
    policy: PolicySet
    runtime: TwinRuntime
    serving: ServingState
    #: The loaded, hash-verified twin (set by the approval check).
    handle: object | None = None
    computation: Computation | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def version(self) -> VersionState:
        """The approved version being served (for the checks after ``approval``)."""
        if self.facts.serving is None:  # pragma: no cover - the approval check ran first
            raise RuntimeError("a check after approval ran without an approved version")
        return self.facts.serving
