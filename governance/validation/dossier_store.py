"""Stored validation dossiers: judge, record (with an audit record), read, check currency.

A dossier is stored as its canonical JSON body and the SHA-256 of that text, in one
transaction with a ``dossier`` audit record that carries the digest. Approval needs the
newest dossier of the version to have passed, to have been judged by today's criteria
(:func:`~governance.validation.dossier_limits.criteria_digest`) and to still match its
digest.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select

from governance.audit.chain import AuditLog
from governance.canonical import canonical_json, iso_utc
from governance.clock import as_utc, utcnow
from governance.identity.principal import Principal
from governance.policy.credibility import CredibilityPolicy
from governance.policy.store import PolicyStore
from governance.store.db import read_connection
from governance.store.records import ValidationDossier
from governance.validation.dossier import DossierEvidence, dossier_body, judge
from governance.validation.dossier_limits import DossierLimits, criteria_digest, dossier_limits
from models.card import TwinCard

_vd = ValidationDossier.__table__  # type: ignore[attr-defined]


class VersionFacts(Protocol):
    """What a dossier records about the version (``lifecycle.VersionState`` has it)."""

    @property
    def model(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def card(self) -> TwinCard: ...
    @property
    def artifact_sha256(self) -> str: ...
    @property
    def evaluation_digest(self) -> str: ...


@dataclass(frozen=True)
class DossierCriteria:
    """The limits a dossier is computed and judged by, read once per dossier."""

    limits: DossierLimits
    credibility: CredibilityPolicy
    digest: str


@dataclass(frozen=True)
class DossierView:
    id: str
    model: str
    version: str
    passed: bool
    sha256: str
    criteria_digest: str
    policy_version: str
    validator: str
    at: datetime
    #: The canonical JSON text exactly as stored and hashed.
    body_text: str

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body_text)
        return parsed

    def verifies(self) -> bool:
        """The stored text still hashes to the stored digest."""
        return hashlib.sha256(self.body_text.encode("utf-8")).hexdigest() == self.sha256

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "passed": self.passed,
            "sha256": self.sha256,
            "digest_verified": self.verifies(),
            "criteria_digest": self.criteria_digest,
            "policy_version": self.policy_version,
            "validator": self.validator,
            "at": iso_utc(self.at),
            "dossier": self.body,
        }


class DossierStore:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        policies: PolicyStore,
        require: Callable[[Principal, str, str], None],
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._policies = policies
        self._require = require

    def criteria(self) -> DossierCriteria:
        """Today's criteria: ``thresholds.toml [dossier]`` and ``credibility.toml``."""
        policies = self._policies.current()
        limits, credibility = dossier_limits(policies.thresholds), policies.credibility
        return DossierCriteria(limits, credibility, criteria_digest(limits, credibility))

    def record(
        self,
        principal: Principal,
        state: VersionFacts,
        evidence: DossierEvidence,
        criteria: DossierCriteria,
    ) -> DossierView:
        """Judge ``evidence`` by ``criteria`` and store the dossier (a governance change)."""
        self._require(principal, state.model, "dossier")
        judgement = judge(state.card, evidence, criteria.limits, criteria.credibility)
        policy_version = self._policies.current().version
        dossier_id, now = str(uuid.uuid4()), utcnow()
        header = {
            "id": dossier_id,
            "model": state.model,
            "version": state.version,
            "kind": state.card.kind.value,
            "validator": principal.user,
            "at": now,
            "artifact_sha256": state.artifact_sha256,
            "evaluation_digest": state.evaluation_digest,
            "policy_version": policy_version,
            "criteria_digest": criteria.digest,
        }
        text = canonical_json(dossier_body(header, evidence, judgement))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with self._engine.begin() as conn:
            conn.execute(
                insert(_vd).values(
                    id=dossier_id,
                    model=state.model,
                    version=state.version,
                    passed=judgement.passed,
                    body=text,
                    sha256=digest,
                    criteria_digest=criteria.digest,
                    policy_version=policy_version,
                    evaluation_digest=state.evaluation_digest,
                    validator=principal.user,
                    at=now,
                )
            )
            self._audit.append(
                "dossier",
                {
                    "principal": principal.to_audit(),
                    "model": state.model,
                    "model_version": state.version,
                    "dossier_id": dossier_id,
                    "passed": judgement.passed,
                    "dossier_sha256": digest,
                    "criteria_digest": criteria.digest,
                    "policy_version": policy_version,
                    "evaluation_digest": state.evaluation_digest,
                    "risk_level": judgement.credibility.risk_level,
                    "reasons": judgement.reasons[:20],
                },
                conn=conn,
            )
        return DossierView(
            dossier_id,
            state.model,
            state.version,
            judgement.passed,
            digest,
            criteria.digest,
            policy_version,
            principal.user,
            now,
            text,
        )

    def latest(self, model: str, version: str) -> DossierView | None:
        stmt = (
            select(_vd)
            .where(_vd.c.model == model, _vd.c.version == version)
            .order_by(_vd.c.at.desc(), _vd.c.id.desc())
            .limit(1)
        )
        with read_connection(self._engine) as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        return DossierView(
            row.id,
            row.model,
            row.version,
            bool(row.passed),
            row.sha256,
            row.criteria_digest,
            row.policy_version,
            row.validator,
            as_utc(row.at),
            row.body,
        )

    def is_current(self, model: str, version: str, evaluation_digest: str) -> tuple[bool, str]:
        """Whether the version has a passing dossier judged by today's criteria, and why."""
        latest = self.latest(model, version)
        if latest is None:
            return False, "no validation dossier on file for this version"
        at = iso_utc(latest.at)
        if not latest.verifies() or latest.body.get("evaluation_digest") != evaluation_digest:
            return False, f"the validation dossier {latest.id} of {at} does not match its digest"
        if not latest.passed:
            reasons = "; ".join(latest.body.get("reasons", [])[:3])
            return False, f"the latest validation dossier ({at}) did not pass: {reasons}"
        if latest.criteria_digest != self.criteria().digest:
            return False, (
                f"the passing validation dossier of {at} was judged by other criteria "
                "(thresholds.toml [dossier] or credibility.toml changed since)"
            )
        return True, f"passing validation dossier {latest.id} of {at}"
