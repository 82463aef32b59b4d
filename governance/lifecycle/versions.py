"""Model versions as governance records them: the read side, and the room's front door.

:class:`VersionState` is one registered version (its card, digests and current status).
:class:`Lifecycle` reads versions, their transition history and the bias audits on file,
checks that a role may act on a model (a refusal is audited), and hands every write to
its :class:`~governance.lifecycle.transitions.Transitions` (the statuses and the moves
between them). The serving path's cached reads are ``lifecycle.serving``
(:mod:`governance.lifecycle.serving`), the validation dossiers ``lifecycle.dossiers``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from governance.audit.chain import AuditLog
from governance.clock import as_utc
from governance.errors import Forbidden, NotFound
from governance.identity.principal import Principal
from governance.lifecycle.readiness import Precondition, approval_preconditions
from governance.lifecycle.serving import ServingState, first_row, iso_utc
from governance.lifecycle.transitions import APPROVED, SUSPENDED, BiasAuditView, Transitions
from governance.policy.store import PolicyStore
from governance.store.db import read_connection
from governance.store.records import BiasAudit, ModelVersion, Transition
from governance.validation.dossier_store import DossierStore
from models.card import TwinCard

_mv = ModelVersion.__table__  # type: ignore[attr-defined]
_tr = Transition.__table__  # type: ignore[attr-defined]
_ba = BiasAudit.__table__  # type: ignore[attr-defined]

# Statements on the prediction path are built once (SQLAlchemy caches their compilation).
_APPROVED = select(_mv).where(_mv.c.model == bindparam("model"), _mv.c.status == APPROVED)
_VERSION = select(_mv).where(
    _mv.c.model == bindparam("model"), _mv.c.version == bindparam("version")
)


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


class Lifecycle:
    def __init__(self, engine: Engine, audit: AuditLog, policies: PolicyStore) -> None:
        self._engine = engine
        self._audit = audit
        self._policies = policies
        self._states: dict[tuple[str, str, str], VersionState] = {}
        self._cards_lock = threading.Lock()
        #: The serving path's reads (approved version, audit age), cached per generation.
        self.serving = ServingState(engine, policies, self.approved_version)
        #: Validation dossiers: approval needs a current, passing one.
        self.dossiers = DossierStore(engine, audit, policies, self.require)
        #: The writes: registration, bias audits on file, and the moves between statuses.
        self.transitions = Transitions(engine, audit, policies, self)

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

    def suspended_versions(self, model: str, conn: Connection) -> list[VersionState]:
        rows = conn.execute(
            select(_mv).where(_mv.c.model == model, _mv.c.status == SUSPENDED)
        ).all()
        return [self._state(r) for r in rows]

    # -- writes (governance.lifecycle.transitions) -------------------------------------
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
        self.transitions.record_registration(
            principal,
            model=model,
            version=version,
            kind=kind,
            artifact_sha256=artifact_sha256,
            evaluation_digest=evaluation_digest,
            run_id=run_id,
            card=card,
            environment=environment,
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
        return self.transitions.record_bias_audit(
            principal, model, version, passed=passed, metrics=metrics
        )

    def approve(self, principal: Principal, model: str, version: str, comment: str) -> str | None:
        """Approve ``version``; returns the version it supersedes, if any."""
        return self.transitions.approve(principal, model, version, comment)

    def approval_preconditions(
        self, principal: Principal, model: str, version: str, now: datetime
    ) -> list[Precondition]:
        """What approving the version needs, met or not (:mod:`.readiness`); acts on nothing."""
        max_age = self._policies.current().bias_audit_max_age_days
        return approval_preconditions(self, principal, model, version, now, max_age)

    def reject(self, principal: Principal, model: str, version: str, comment: str) -> None:
        self.transitions.reject(principal, model, version, comment)

    def suspend(self, principal: Principal, model: str, version: str, reason: str) -> None:
        self.transitions.suspend(principal, model, version, reason)

    def reinstate(self, principal: Principal, model: str, version: str, reason: str) -> None:
        self.transitions.reinstate(principal, model, version, reason)

    # -- who may act on a model --------------------------------------------------------
    def require(self, principal: Principal, model: str, act: str) -> None:
        """Raise :class:`Forbidden` (audited) unless the role may ``act`` on the model."""
        self.require_on(principal, f"model/{model}", act, subject="model versions")

    def require_on(
        self, principal: Principal, obj: str, act: str, subject: str | None = None
    ) -> None:
        policy = self._policies.current()
        decision = policy.allows(principal.role, principal.site, principal.site or "*", obj, act)
        if not decision.allowed:
            entry = self._audit.append(
                f"{obj.split('/')[0]}.{act}.refused",
                {
                    "principal": principal.to_audit(),
                    "object": obj,
                    "policy_version": policy.version,
                    "reason": "role",
                },
            )
            refused = Forbidden(
                f"role {principal.role!r} may not {act.replace('_', ' ')} {subject or obj}"
            )
            refused.audit_id = entry.record_id
            raise refused

    # -- internals ---------------------------------------------------------------------
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
