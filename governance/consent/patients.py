"""Pseudonymous patients and their consents, per purpose and data category.

Per-patient facts live in indexed tables (not in Casbin policy lines), so that the gate's
consent check stays one indexed query however many patients there are. Every change is
audited in the same transaction as the change itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Label,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from governance.audit.chain import AuditLog
from governance.clock import as_utc, utcnow
from governance.errors import Conflict, Forbidden, InvalidInput, NotFound
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.policy.store import PolicyStore
from governance.store.db import read_connection
from governance.store.records import Consent, Patient
from models.card import DATA_CATEGORIES

_patient = Patient.__table__  # type: ignore[attr-defined]
_consent = Consent.__table__  # type: ignore[attr-defined]

# Statements on the prediction path are built once (SQLAlchemy caches their compilation).
_SITE = select(_patient.c.site).where(_patient.c.patient_key == bindparam("key"))
_ACTIVE_CONSENTS = select(_consent.c.data_categories).where(
    _consent.c.patient_key == bindparam("key"),
    _consent.c.purpose == bindparam("purpose"),
    _consent.c.withdrawn_at.is_(None),
    or_(_consent.c.valid_from.is_(None), _consent.c.valid_from <= bindparam("at")),
    or_(_consent.c.valid_until.is_(None), _consent.c.valid_until > bindparam("at")),
)
#: The release gate reads the patient's facts in the same statement as its other facts
#: (see governance.release.gate), as scalar columns with the parameters ``key``, ``purpose`` and
#: ``at``: the patient's site (NULL when not registered) ...
SITE_COLUMN = _SITE.scalar_subquery().label("site")


def consents_column(dialect: str) -> Label[str | None]:
    """... and the category lists (JSON arrays) of the consents active for the purpose
    at ``at``, joined with commas (NULL when there is none): see :func:`categories_of`."""
    join = func.group_concat if dialect == "sqlite" else func.string_agg
    joined = join(_consent.c.data_categories, literal_column("','"))
    return _ACTIVE_CONSENTS.with_only_columns(joined).scalar_subquery().label("consents")


def categories_of(joined: str | None) -> frozenset[str]:
    """The union of the categories in a :func:`consents_column` value."""
    if not joined:
        return frozenset()
    lists: list[list[str]] = json.loads(f"[{joined}]")
    return frozenset(category for categories in lists for category in categories)


@dataclass(frozen=True)
class ConsentView:
    id: str
    purpose: str
    data_categories: tuple[str, ...]
    valid_from: datetime | None
    valid_until: datetime | None
    granted_at: datetime
    granted_by: str
    withdrawn_at: datetime | None
    withdrawn_by: str | None

    @property
    def status(self) -> str:
        if self.withdrawn_at is not None:
            return "withdrawn"
        now = utcnow()
        if self.valid_until is not None and self.valid_until <= now:
            return "expired"
        if self.valid_from is not None and self.valid_from > now:
            return "pending"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        def iso(v: datetime | None) -> str | None:
            return None if v is None else v.isoformat().replace("+00:00", "Z")

        return {
            "id": self.id,
            "purpose": self.purpose,
            "data_categories": list(self.data_categories),
            "valid_from": iso(self.valid_from),
            "valid_until": iso(self.valid_until),
            "granted_at": iso(self.granted_at),
            "granted_by": self.granted_by,
            "withdrawn_at": iso(self.withdrawn_at),
            "withdrawn_by": self.withdrawn_by,
            "status": self.status,
        }


class PatientService:
    """Registers patients and records consent grants and withdrawals."""

    def __init__(
        self, engine: Engine, audit: AuditLog, policies: PolicyStore, pseudonymiser: Pseudonymiser
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._policies = policies
        self._pseudonymiser = pseudonymiser

    # -- reads --------------------------------------------------------------------
    def site_of(self, patient_key: str, conn: Connection | None = None) -> str | None:
        params = {"key": patient_key}
        if conn is not None:
            return conn.execute(_SITE, params).scalar_one_or_none()
        with read_connection(self._engine) as c:
            return c.execute(_SITE, params).scalar_one_or_none()

    # -- writes -------------------------------------------------------------------
    def register(self, principal: Principal, patient_id: str, site: str) -> tuple[str, bool]:
        """Register (or confirm) a patient at ``site``. Returns (site, created)."""
        _check_id("patient_id", patient_id)
        _check_id("site", site)
        key = self._pseudonymiser.patient_key(patient_id)
        policy = self._policies.current()
        decision = policy.allows(principal.role, principal.site, site, "patient", "register")
        if not decision.allowed:
            self._audit_refusal(principal, "patient.register", key, "role or site")
            raise Forbidden(f"role {principal.role!r} may not register patients at site {site!r}")
        with self._engine.begin() as conn:
            current = self.site_of(key, conn)
            if current == site:
                return site, False
            if current is not None:
                move = policy.allows(principal.role, principal.site, site, "patient", "move")
                if not move.allowed:
                    raise Conflict(
                        "the patient is registered at another site; only an "
                        "admin can move a patient between sites"
                    )
                conn.execute(
                    update(_patient).where(_patient.c.patient_key == key).values(site=site)
                )
                self._audit.append(
                    "patient.move",
                    {
                        "principal": principal.to_audit(),
                        "patient": key,
                        "from_site": current,
                        "to_site": site,
                        "policy_version": policy.version,
                        "rule": list(move.rule),
                    },
                    conn=conn,
                )
                return site, False
            conn.execute(
                insert(_patient).values(
                    patient_key=key, site=site, registered_by=principal.user, registered_at=utcnow()
                )
            )
            self._audit.append(
                "patient.register",
                {
                    "principal": principal.to_audit(),
                    "patient": key,
                    "site": site,
                    "policy_version": policy.version,
                    "rule": list(decision.rule),
                },
                conn=conn,
            )
        return site, True

    def grant(
        self,
        principal: Principal,
        patient_id: str,
        purpose: str,
        data_categories: Sequence[str],
        valid_from: datetime | None,
        valid_until: datetime | None,
    ) -> ConsentView:
        key = self._visible_patient(principal, patient_id, "grant")
        policy = self._policies.current()
        if purpose not in policy.ethics.purposes:
            raise InvalidInput(
                f"purpose must be one of {sorted(policy.ethics.purposes)}", field="purpose"
            )
        categories = tuple(sorted(set(data_categories)))
        unknown = set(categories) - DATA_CATEGORIES
        if not categories or unknown:
            raise InvalidInput(
                f"data_categories must be a non-empty list drawn from "
                f"{sorted(DATA_CATEGORIES)}" + (f"; unknown: {sorted(unknown)}" if unknown else ""),
                field="data_categories",
            )
        vf = None if valid_from is None else as_utc(valid_from)
        vu = None if valid_until is None else as_utc(valid_until)
        if vf is not None and vu is not None and vu <= vf:
            raise InvalidInput("valid_until must be after valid_from", field="valid_until")
        consent_id = str(uuid.uuid4())
        now = utcnow()
        with self._engine.begin() as conn:
            conn.execute(
                insert(_consent).values(
                    id=consent_id,
                    patient_key=key,
                    purpose=purpose,
                    data_categories=json.dumps(list(categories)),
                    valid_from=vf,
                    valid_until=vu,
                    granted_by=principal.user,
                    granted_at=now,
                )
            )
            self._audit.append(
                "consent.grant",
                {
                    "principal": principal.to_audit(),
                    "patient": key,
                    "consent_id": consent_id,
                    "purpose": purpose,
                    "data_categories": list(categories),
                    "valid_from": vf,
                    "valid_until": vu,
                    "policy_version": policy.version,
                },
                conn=conn,
            )
        return ConsentView(consent_id, purpose, categories, vf, vu, now, principal.user, None, None)

    def withdraw(self, principal: Principal, patient_id: str, consent_id: str) -> ConsentView:
        key = self._visible_patient(principal, patient_id, "withdraw")
        now = utcnow()
        with self._engine.begin() as conn:
            row = conn.execute(
                select(_consent).where(
                    and_(_consent.c.id == consent_id, _consent.c.patient_key == key)
                )
            ).first()
            if row is None:
                raise NotFound(f"consent {consent_id!r} not found for this patient")
            if row.withdrawn_at is not None:
                return _view(row)
            conn.execute(
                update(_consent)
                .where(_consent.c.id == consent_id)
                .values(withdrawn_at=now, withdrawn_by=principal.user)
            )
            self._audit.append(
                "consent.withdraw",
                {
                    "principal": principal.to_audit(),
                    "patient": key,
                    "consent_id": consent_id,
                    "purpose": row.purpose,
                    "policy_version": self._policies.current().version,
                },
                conn=conn,
            )
            updated = conn.execute(select(_consent).where(_consent.c.id == consent_id)).one()
        return _view(updated)

    def consents(self, principal: Principal, patient_id: str) -> list[ConsentView]:
        key = self._visible_patient(principal, patient_id, "read")
        with read_connection(self._engine) as conn:
            rows = conn.execute(
                select(_consent)
                .where(_consent.c.patient_key == key)
                .order_by(_consent.c.granted_at)
            ).all()
        return [_view(r) for r in rows]

    def _visible_patient(self, principal: Principal, patient_id: str, act: str) -> str:
        """The patient's key if the caller may act on the patient; same answer otherwise."""
        _check_id("patient_id", patient_id)
        policy = self._policies.current()
        own = principal.site or "*"
        if not policy.allows(principal.role, principal.site, own, "consent", act).allowed:
            raise Forbidden(f"role {principal.role!r} may not {act} consents")
        key = self._pseudonymiser.patient_key(patient_id)
        site = self.site_of(key)
        if (
            site is None
            or not policy.allows(principal.role, principal.site, site, "consent", act).allowed
        ):
            # Same answer whether the patient exists at another site or not at all.
            raise NotFound("no patient with this id is registered at your site")
        return key

    def _audit_refusal(self, principal: Principal, action: str, key: str, why: str) -> None:
        self._audit.append(
            action + ".refused", {"principal": principal.to_audit(), "patient": key, "reason": why}
        )


def _view(row: Any) -> ConsentView:
    def opt(v: datetime | None) -> datetime | None:
        return None if v is None else as_utc(v)

    return ConsentView(
        row.id,
        row.purpose,
        tuple(json.loads(row.data_categories)),
        opt(row.valid_from),
        opt(row.valid_until),
        as_utc(row.granted_at),
        row.granted_by,
        opt(row.withdrawn_at),
        row.withdrawn_by,
    )


def _check_id(field: str, value: str) -> None:
    if not value or len(value) > 128 or not value.isprintable() or "/" in value:
        raise InvalidInput(f"{field} must be 1-128 printable characters without '/'", field=field)
