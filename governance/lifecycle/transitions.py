"""A version's statuses and every move between them, each one recorded.

``registered -> validated -> approved <-> suspended -> retired`` (and ``rejected``).
Registration enters ``registered``; a passing bias audit moves a registered version to
``validated``; a validator approves it (the approved version it supersedes retires, with
any suspended one) or rejects it, never their own (:mod:`governance.lifecycle.four_eyes`);
the approved version can be suspended (the stop button) and reinstated.

Every move is a :class:`~governance.store.records.Transition` row and an audit record,
in one transaction with the status change. The governance database is the source of
truth; the MLflow alias mirrors it (the composition layer moves the alias after each
transition here commits). :class:`~governance.lifecycle.versions.Lifecycle` owns one
:class:`Transitions` and hands it every write.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, update

from governance.audit.chain import AuditLog
from governance.clock import utcnow
from governance.errors import Conflict, DossierRequired, InvalidInput
from governance.identity.principal import Principal
from governance.lifecycle.four_eyes import require_four_eyes
from governance.lifecycle.serving import iso_utc
from governance.policy.store import PolicyStore
from governance.store.records import BiasAudit, ModelVersion, Transition
from models.card import TwinCard

if TYPE_CHECKING:  # versions imports this module
    from governance.lifecycle.versions import Lifecycle

_mv = ModelVersion.__table__  # type: ignore[attr-defined]
_tr = Transition.__table__  # type: ignore[attr-defined]
_ba = BiasAudit.__table__  # type: ignore[attr-defined]

REGISTERED, VALIDATED, APPROVED = "registered", "validated", "approved"
SUSPENDED, RETIRED, REJECTED = "suspended", "retired", "rejected"


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


class Transitions:
    """The writes of the lifecycle; ``versions`` is the lifecycle they read and check
    permissions with."""

    def __init__(
        self, engine: Engine, audit: AuditLog, policies: PolicyStore, versions: Lifecycle
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._policies = policies
        self._versions = versions

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
        self._versions.require(principal, model, "register")
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
            self._record(
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
        self._versions.require(principal, model, "bias_audit")
        state = self._versions.version(model, version)
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
                self._record(
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
        versions = self._versions
        versions.require(principal, model, "approve")
        _need_comment(comment)
        state = versions.version(model, version)
        require_four_eyes(principal, state, "approve")
        if state.status != VALIDATED:
            raise Conflict(
                f"{model} v{version} is {state.status}; only a validated version "
                "(one with a passing bias audit) can be approved"
            )
        ok, why = versions.serving.audit_is_current(model, version, utcnow())
        if not ok:
            raise Conflict(f"cannot approve {model} v{version}: {why}")
        ok, why = versions.dossiers.is_current(model, version, state.evaluation_digest)
        if not ok:
            raise DossierRequired(
                f"cannot approve {model} v{version}: {why}; a validator must run the "
                "validation dossier on this version (and it must pass) before approval"
            )
        with self._engine.begin() as conn:
            previous = versions.approved_version(model, conn)
            for old in [previous, *versions.suspended_versions(model, conn)]:
                if old is not None:
                    self._record(
                        conn,
                        principal,
                        model,
                        old.version,
                        old.status,
                        RETIRED,
                        f"superseded by version {version}",
                    )
            self._record(conn, principal, model, version, VALIDATED, APPROVED, comment)
        return None if previous is None else previous.version

    def reject(self, principal: Principal, model: str, version: str, comment: str) -> None:
        self._versions.require(principal, model, "reject")
        _need_comment(comment)
        state = self._versions.version(model, version)
        require_four_eyes(principal, state, "reject")
        if state.status not in (REGISTERED, VALIDATED):
            raise Conflict(
                f"{model} v{version} is {state.status}; only a registered or "
                "validated version can be rejected"
            )
        with self._engine.begin() as conn:
            self._record(conn, principal, model, version, state.status, REJECTED, comment)

    def suspend(self, principal: Principal, model: str, version: str, reason: str) -> None:
        self._versions.require(principal, model, "suspend")
        _need_comment(reason)
        state = self._versions.version(model, version)
        if state.status != APPROVED:
            raise Conflict(
                f"{model} v{version} is {state.status}; only the approved version can be suspended"
            )
        with self._engine.begin() as conn:
            self._record(conn, principal, model, version, APPROVED, SUSPENDED, reason)

    def reinstate(self, principal: Principal, model: str, version: str, reason: str) -> None:
        self._versions.require(principal, model, "reinstate")
        _need_comment(reason)
        state = self._versions.version(model, version)
        if state.status != SUSPENDED:
            raise Conflict(
                f"{model} v{version} is {state.status}; only a suspended version can be reinstated"
            )
        with self._engine.begin() as conn:
            if self._versions.approved_version(model, conn) is not None:
                raise Conflict(
                    f"another version of {model} is approved; approve this one again instead"
                )
            self._record(conn, principal, model, version, SUSPENDED, APPROVED, reason)

    def _record(
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
        """The move itself: the new status, its Transition row and its audit record."""
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


def _need_comment(comment: str) -> None:
    if not comment or not comment.strip():
        raise InvalidInput("a comment saying why is required", field="comment")
    if any(not (c.isprintable() or c in "\n\t") for c in comment):
        raise InvalidInput("the comment must not contain control characters", field="comment")
    if len(comment) > 2000:
        raise InvalidInput("the comment must be at most 2000 characters", field="comment")
