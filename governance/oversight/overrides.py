"""Clinician overrides: human oversight of released predictions.

A clinician may record that they *disregarded* or *overrode* a released prediction, with
a reason, or that they *accepted* it (a reason is then optional; an EHR's CDS Hooks
feedback reports it for a card: ``api.cds``). Only released decisions can be overridden
(a withheld result was never shown), and only by a clinician who may predict at the site
of the clinician who received it. The :class:`~governance.store.records.Override` row and
its ``prediction.override`` audit record commit in one transaction. Nothing patient-level
is stored beyond the keyed patient hash already in the decision.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from governance.audit.chain import AuditLog
from governance.canonical import iso_utc
from governance.clock import as_utc, utcnow
from governance.errors import Conflict, Forbidden, InvalidInput, NotFound
from governance.identity.principal import Principal
from governance.policy.store import PolicyStore
from governance.store.db import read_connection
from governance.store.records import AuditRecord, Override

OverrideAction = Literal["disregarded", "overridden", "accepted"]
OVERRIDE_ACTIONS: tuple[str, ...] = get_args(OverrideAction)
#: Audit actions whose records are release decisions (see governance.release.gate).
DECISION_ACTIONS: tuple[str, ...] = ("prediction", "simulation")
#: The audit action of a recorded override.
OVERRIDE_AUDIT_ACTION = "prediction.override"
MAX_REASON_LENGTH = 2000

_ov = Override.__table__  # type: ignore[attr-defined]
_ar = AuditRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class OverrideView:
    id: str
    audit_id: str
    model: str
    model_version: str
    site: str
    action: str
    reason: str
    clinician: str
    at: datetime
    override_audit_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "audit_id": self.audit_id,
            "model": self.model,
            "model_version": self.model_version,
            "site": self.site,
            "action": self.action,
            "reason": self.reason,
            "clinician": self.clinician,
            "at": iso_utc(self.at),
            "override_audit_id": self.override_audit_id,
        }


class OverrideService:
    """Records clinician overrides of released predictions."""

    def __init__(self, engine: Engine, audit: AuditLog, policies: PolicyStore) -> None:
        self._engine = engine
        self._audit = audit
        self._policies = policies

    def record(
        self, principal: Principal, audit_id: str, action: OverrideAction, reason: str
    ) -> OverrideView:
        """Record that ``principal`` disregarded or overrode the decision ``audit_id``.

        Raises :class:`InvalidInput` (field ``action`` or ``reason``), :class:`NotFound`
        (no decision with this id), :class:`Conflict` (the decision was not released, or
        this clinician already recorded an override of it) and :class:`Forbidden` (not a
        clinician of the decision's site; audited).
        """
        text = _checked(action, reason)
        decision = self._decision(audit_id)
        if decision.get("decision") != "released":
            raise Conflict(
                f"decision {audit_id} was {decision.get('decision')}; only a released "
                "prediction can be disregarded or overridden"
            )
        site = self._require_site(principal, audit_id, decision)
        override_id, now = str(uuid.uuid4()), utcnow()
        model = str(decision.get("model"))
        version = str(decision.get("model_version"))
        patient = str(decision.get("patient"))
        policy = self._policies.current()
        try:
            with self._engine.begin() as conn:
                entry = self._audit.append(
                    OVERRIDE_AUDIT_ACTION,
                    {
                        "principal": principal.to_audit(),
                        "decision_id": audit_id,
                        "override_id": override_id,
                        "model": model,
                        "model_version": version,
                        "patient": patient,
                        "action": action,
                        "reason": text,
                        "policy_version": policy.version,
                    },
                    conn=conn,
                )
                conn.execute(
                    insert(_ov).values(
                        id=override_id,
                        audit_id=audit_id,
                        model=model,
                        model_version=version,
                        patient_key=patient,
                        site=site,
                        action=action,
                        reason=text,
                        clinician=principal.user,
                        at=now,
                        override_audit_id=entry.record_id,
                    )
                )
        except IntegrityError as exc:
            raise Conflict(
                f"{principal.user!r} already recorded an override of decision {audit_id}"
            ) from exc
        return OverrideView(
            override_id,
            audit_id,
            model,
            version,
            site,
            action,
            text,
            principal.user,
            now,
            entry.record_id,
        )

    def for_decision(self, audit_id: str) -> list[OverrideView]:
        """The overrides recorded against one decision, oldest first."""
        stmt = select(_ov).where(_ov.c.audit_id == audit_id).order_by(_ov.c.at)
        with read_connection(self._engine) as conn:
            return [view(r) for r in conn.execute(stmt).all()]

    # -- internals ----------------------------------------------------------------------
    def _decision(self, audit_id: str) -> dict[str, Any]:
        if not isinstance(audit_id, str) or not audit_id or len(audit_id) > 36:
            raise InvalidInput("audit_id must be the audit id of a decision", field="audit_id")
        stmt = select(_ar.c.action, _ar.c.body).where(_ar.c.record_id == audit_id)
        with read_connection(self._engine) as conn:
            row = conn.execute(stmt).first()
        if row is None or row.action not in DECISION_ACTIONS:
            raise NotFound(f"no prediction decision with audit id {audit_id!r}")
        payload: dict[str, Any] = json.loads(row.body)["payload"]
        return payload

    def _require_site(self, principal: Principal, audit_id: str, decision: dict[str, Any]) -> str:
        """The decision's site, if ``principal`` is a clinician who may predict there."""
        site = _decision_site(decision)
        policy = self._policies.current()
        model = str(decision.get("model"))
        allowed = (
            principal.role == "clinician"
            and principal.site is not None
            and site is not None
            and policy.allows(
                principal.role, principal.site, site, f"model/{model}", "override"
            ).allowed
        )
        if allowed and site is not None:
            return site
        entry = self._audit.append(
            OVERRIDE_AUDIT_ACTION + ".refused",
            {
                "principal": principal.to_audit(),
                "decision_id": audit_id,
                "policy_version": policy.version,
                "reason": "site",
            },
        )
        refused = Forbidden(
            "only a clinician of the site where the prediction was released may "
            "disregard or override it"
        )
        refused.audit_id = entry.record_id
        raise refused


def view(row: Any) -> OverrideView:
    """An :class:`OverrideView` from an ``override`` table row."""
    return OverrideView(
        row.id,
        row.audit_id,
        row.model,
        row.model_version,
        row.site,
        row.action,
        row.reason,
        row.clinician,
        as_utc(row.at),
        row.override_audit_id,
    )


def _decision_site(decision: dict[str, Any]) -> str | None:
    principal = decision.get("principal")
    if isinstance(principal, dict) and isinstance(principal.get("site"), str):
        return str(principal["site"])
    return None


def _checked(action: str, reason: str) -> str:
    """The override's reason, stripped, once ``action`` and ``reason`` are valid
    (:class:`InvalidInput` naming the field otherwise)."""
    if action not in OVERRIDE_ACTIONS:
        raise InvalidInput(f"action must be one of {list(OVERRIDE_ACTIONS)}", field="action")
    text = reason.strip() if isinstance(reason, str) else ""
    if not text and action != "accepted":
        raise InvalidInput(
            "reason is required: say why the prediction was disregarded or overridden",
            field="reason",
        )
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidInput(f"reason must be at most {MAX_REASON_LENGTH} characters", field="reason")
    return text
