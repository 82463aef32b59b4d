"""Model version lifecycle: registration, bias audits on file, approval, suspension.

``registered -> validated -> approved <-> suspended -> retired`` (and ``rejected``).
The governance database is the source of truth; the MLflow alias mirrors it (the
composition layer moves the alias after each transition here commits). Every transition
is a :class:`~governance.store.records.Transition` row and an audit record, in one transaction.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from governance.audit.chain import AuditLog
from governance.clock import as_utc, utcnow
from governance.errors import (
    Conflict,
    DossierRequired,
    Forbidden,
    FourEyesViolation,
    InvalidInput,
    NotFound,
)
from governance.identity.principal import Principal
from governance.lifecycle.serving import ServingState, first_row, iso_utc
from governance.policy.store import PolicyStore
from governance.store.db import read_connection
from governance.store.records import BiasAudit, ModelVersion, Transition
from governance.validation.dossier_store import DossierStore
from models.card import TwinCard

_mv = ModelVersion.__table__  # type: ignore[attr-defined]
_tr = Transition.__table__  # type: ignore[attr-defined]
_ba = BiasAudit.__table__  # type: ignore[attr-defined]

REGISTERED, VALIDATED, APPROVED = "registered", "validated", "approved"

# Statements on the prediction path are built once (SQLAlchemy caches their compilation).
_APPROVED = select(_mv).where(_mv.c.model == bindparam("model"), _mv.c.status == APPROVED)
_VERSION = select(_mv).where(
    _mv.c.model == bindparam("model"), _mv.c.version == bindparam("version")
)
SUSPENDED, RETIRED, REJECTED = "suspended", "retired", "rejected"


@dataclass(frozen=True)
class VersionState:
    model: str
    version: str
    kind: str
    status: str
    registrant: str
    artifact_sha256: str
    evaluation_digest: str
    run_id: str
    card: TwinCard
    environment: dict[str, str]
    registered_at: datetime


@dataclass(frozen=True)
class BiasAuditView:
    id: str
    passed: bool
    metrics: dict[str, Any]
    policy_version: str
    auditor: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "passed": self.passed,
            "metrics": self.metrics,
            "policy_version": self.policy_version,
            "auditor": self.auditor,
            "at": iso_utc(self.at),
        }


class Lifecycle:
    def __init__(self, engine: Engine, audit: AuditLog, policies: PolicyStore) -> None:
        self._engine = engine
        self._audit = audit
        self._policies = policies
        self._states: dict[tuple[str, str, str], VersionState] = {}
        self._cards_lock = threading.Lock()
        #: The serving path's reads (approved version, latest audit), cached per generation.
        #: The serving path's reads (approved version, audit age), cached per generation.
        self.serving = ServingState(engine, policies, self.approved_version)
        #: Validation dossiers: approval needs a current, passing one.
        self.dossiers = DossierStore(engine, audit, policies, self.require)

    # -- reads --------------------------------------------------------------------------
    def connection(self) -> Connection:
        """A read connection, for callers that want several reads on one connection."""
        return read_connection(self._engine)

    def version(self, model: str, version: str, conn: Connection | None = None) -> VersionState:
        row = self._one(_VERSION, conn, {"model": model, "version": version})
        if row is None:
            raise NotFound(f"model {model!r} has no version {version!r}")
        return self._state(row)

    def approved_version(self, model: str, conn: Connection | None = None) -> VersionState | None:
        row = self._one(_APPROVED, conn, {"model": model})
        return None if row is None else self._state(row)

    def versions(self, model: str | None = None) -> list[VersionState]:
        stmt = select(_mv).order_by(_mv.c.model, _mv.c.id)
        if model is not None:
            stmt = stmt.where(_mv.c.model == model)
        with read_connection(self._engine) as conn:
            return [self._state(r) for r in conn.execute(stmt).all()]

    def history(self, model: str, version: str) -> list[dict[str, Any]]:
        stmt = select(_tr).where(_tr.c.model == model, _tr.c.version == version).order_by(_tr.c.id)
        with read_connection(self._engine) as conn:
            return [
                {
                    "from": r.from_status,
                    "to": r.to_status,
                    "actor": r.actor,
                    "reason": r.reason,
                    "at": iso_utc(as_utc(r.at)),
                }
                for r in conn.execute(stmt).all()
            ]

    def bias_audits(self, model: str, version: str) -> list[BiasAuditView]:
        stmt = select(_ba).where(_ba.c.model == model, _ba.c.version == version).order_by(_ba.c.at)
        with read_connection(self._engine) as conn:
            return [
                BiasAuditView(
                    r.id,
                    bool(r.passed),
                    json.loads(r.metrics_json),
                    r.policy_version,
                    r.auditor,
                    as_utc(r.at),
                )
                for r in conn.execute(stmt).all()
            ]

    # -- writes -------------------------------------------------------------------------
    def record_registration(
        self,
        principal: Principal,
        *,
        model: str,
        version: str,
        kind: str,
        artifact_sha256: str,
        evaluation_digest: str,
        run_id: str,
        card: TwinCard,
        environment: dict[str, str],
    ) -> None:
        self.require(principal, model, "register")
        now = utcnow()
        with self._engine.begin() as conn:
            conn.execute(
                insert(_mv).values(
                    model=model,
                    version=version,
                    kind=kind,
                    status=REGISTERED,
                    registrant=principal.user,
                    registered_at=now,
                    artifact_sha256=artifact_sha256,
                    card_json=json.dumps(card.to_dict(), sort_keys=True),
                    environment_json=json.dumps(environment, sort_keys=True),
                    evaluation_digest=evaluation_digest,
                    run_id=run_id,
                )
            )
            self._transition(
                conn,
                principal,
                model,
                version,
                None,
                REGISTERED,
                "registered",
                {
                    "artifact_sha256": artifact_sha256,
                    "evaluation_digest": evaluation_digest,
                    "kind": kind,
                },
            )

    def record_bias_audit(
        self,
        principal: Principal,
        model: str,
        version: str,
        *,
        passed: bool,
        metrics: dict[str, Any],
    ) -> BiasAuditView:
        self.require(principal, model, "bias_audit")
        state = self.version(model, version)
        policy = self._policies.current()
        audit_id, now = str(uuid.uuid4()), utcnow()
        with self._engine.begin() as conn:
            conn.execute(
                insert(_ba).values(
                    id=audit_id,
                    model=model,
                    version=version,
                    passed=passed,
                    metrics_json=json.dumps(metrics, sort_keys=True),
                    policy_version=policy.version,
                    evaluation_digest=state.evaluation_digest,
                    auditor=principal.user,
                    at=now,
                )
            )
            self._audit.append(
                "bias_audit",
                {
                    "principal": principal.to_audit(),
                    "model": model,
                    "model_version": version,
                    "bias_audit_id": audit_id,
                    "passed": passed,
                    "policy_version": policy.version,
                    "evaluation_digest": state.evaluation_digest,
                },
                conn=conn,
            )
            if passed and state.status == REGISTERED:
                self._transition(
                    conn,
                    principal,
                    model,
                    version,
                    REGISTERED,
                    VALIDATED,
                    "passing bias audit " + audit_id,
                )
        return BiasAuditView(audit_id, passed, metrics, policy.version, principal.user, now)

    def approve(self, principal: Principal, model: str, version: str, comment: str) -> str | None:
        """Approve ``version``; returns the version it supersedes, if any."""
        self.require(principal, model, "approve")
        _need_comment(comment)
        state = self.version(model, version)
        _four_eyes(principal, state, "approve")
        if state.status != VALIDATED:
            raise Conflict(
                f"{model} v{version} is {state.status}; only a validated version "
                "(one with a passing bias audit) can be approved"
            )
        ok, why = self.serving.audit_is_current(model, version, utcnow())
        if not ok:
            raise Conflict(f"cannot approve {model} v{version}: {why}")
        ok, why = self.dossiers.is_current(model, version, state.evaluation_digest)
        if not ok:
            raise DossierRequired(
                f"cannot approve {model} v{version}: {why}; a validator must run the "
                "validation dossier on this version (and it must pass) before approval"
            )
        with self._engine.begin() as conn:
            previous = self.approved_version(model, conn)
            for old in [previous, *self._suspended(model, conn)]:
                if old is not None:
                    self._transition(
                        conn,
                        principal,
                        model,
                        old.version,
                        old.status,
                        RETIRED,
                        f"superseded by version {version}",
                    )
            self._transition(conn, principal, model, version, VALIDATED, APPROVED, comment)
        return None if previous is None else previous.version

    def reject(self, principal: Principal, model: str, version: str, comment: str) -> None:
        self.require(principal, model, "reject")
        _need_comment(comment)
        state = self.version(model, version)
        _four_eyes(principal, state, "reject")
        if state.status not in (REGISTERED, VALIDATED):
            raise Conflict(
                f"{model} v{version} is {state.status}; only a registered or "
                "validated version can be rejected"
            )
        with self._engine.begin() as conn:
            self._transition(conn, principal, model, version, state.status, REJECTED, comment)

    def suspend(self, principal: Principal, model: str, version: str, reason: str) -> None:
        self.require(principal, model, "suspend")
        _need_comment(reason)
        state = self.version(model, version)
        if state.status != APPROVED:
            raise Conflict(
                f"{model} v{version} is {state.status}; only the approved version can be suspended"
            )
        with self._engine.begin() as conn:
            self._transition(conn, principal, model, version, APPROVED, SUSPENDED, reason)

    def reinstate(self, principal: Principal, model: str, version: str, reason: str) -> None:
        self.require(principal, model, "reinstate")
        _need_comment(reason)
        state = self.version(model, version)
        if state.status != SUSPENDED:
            raise Conflict(
                f"{model} v{version} is {state.status}; only a suspended version can be reinstated"
            )
        with self._engine.begin() as conn:
            if self.approved_version(model, conn) is not None:
                raise Conflict(
                    f"another version of {model} is approved; approve this one again instead"
                )
            self._transition(conn, principal, model, version, SUSPENDED, APPROVED, reason)

    # -- internals ----------------------------------------------------------------------
    def require(self, principal: Principal, model: str, act: str) -> None:
        """Raise :class:`Forbidden` (audited) unless the role may ``act`` on the model."""
        self.require_on(principal, f"model/{model}", act, subject="model versions")

    def require_on(
        self, principal: Principal, obj: str, act: str, subject: str | None = None
    ) -> None:
        policy = self._policies.current()
        decision = policy.allows(principal.role, principal.site, principal.site or "*", obj, act)
        if not decision.allowed:
            self._audit.append(
                f"{obj.split('/')[0]}.{act}.refused",
                {
                    "principal": principal.to_audit(),
                    "object": obj,
                    "policy_version": policy.version,
                    "reason": "role",
                },
            )
            raise Forbidden(
                f"role {principal.role!r} may not {act.replace('_', ' ')} {subject or obj}"
            )

    def _suspended(self, model: str, conn: Connection) -> list[VersionState]:
        rows = conn.execute(
            select(_mv).where(_mv.c.model == model, _mv.c.status == SUSPENDED)
        ).all()
        return [self._state(r) for r in rows]

    def _transition(
        self,
        conn: Connection,
        principal: Principal,
        model: str,
        version: str,
        from_status: str | None,
        to_status: str,
        reason: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        now = utcnow()
        conn.execute(
            update(_mv)
            .where(_mv.c.model == model, _mv.c.version == version)
            .values(status=to_status)
        )
        conn.execute(
            insert(_tr).values(
                model=model,
                version=version,
                from_status=from_status,
                to_status=to_status,
                actor=principal.user,
                reason=reason,
                at=now,
            )
        )
        self._audit.append(
            f"lifecycle.{to_status}",
            {
                "principal": principal.to_audit(),
                "model": model,
                "model_version": version,
                "from": from_status,
                "to": to_status,
                "reason": reason,
                "policy_version": self._policies.current().version,
                **(extra or {}),
            },
            conn=conn,
        )

    def _one(self, stmt: Any, conn: Connection | None, params: dict[str, Any] | None = None) -> Any:
        return first_row(self._engine, stmt, conn, params)

    def _state(self, row: Any) -> VersionState:
        key = (row.model, row.version, row.status)
        cached = self._states.get(key)
        if cached is not None and cached.artifact_sha256 == row.artifact_sha256:
            return cached
        state = self._parse_state(row)
        with self._cards_lock:
            self._states[key] = state
        return state

    def _parse_state(self, row: Any) -> VersionState:
        """Parse a version row; versions are immutable but for their status."""
        card = TwinCard.from_dict(json.loads(row.card_json))
        return VersionState(
            row.model,
            row.version,
            row.kind,
            row.status,
            row.registrant,
            row.artifact_sha256,
            row.evaluation_digest,
            row.run_id,
            card,
            json.loads(row.environment_json),
            as_utc(row.registered_at),
        )


def _four_eyes(principal: Principal, state: VersionState, action: str) -> None:
    """Four-eyes rule: the registrant of a version never decides on it (approve/reject)."""
    if state.registrant == principal.user:
        raise FourEyesViolation(
            f"four-eyes rule: {principal.user!r} registered {state.model} v{state.version} "
            f"and can never {action} it; another validator must"
        )


def _need_comment(comment: str) -> None:
    if not comment or not comment.strip():
        raise InvalidInput("a comment saying why is required", field="comment")
    if any(not (c.isprintable() or c in "\n\t") for c in comment):
        raise InvalidInput("the comment must not contain control characters", field="comment")
    if len(comment) > 2000:
        raise InvalidInput("the comment must be at most 2000 characters", field="comment")
