"""Pseudonymous patients and their consents, per purpose and data category.

Per-patient facts live in indexed tables (not in Casbin policy lines), so that the gate's
consent check stays one indexed query however many patients there are. Every change is
audited in the same transaction as the change itself. Each write may join a caller's
transaction (``conn``, :func:`governance.store.db.joined`): then nothing is committed
here, and a refusal raised there is the caller's to record after its rollback.

A patient is an id *at a site* (:mod:`governance.consent.patient_keys`): registering an
id at a site never meets another site's patient of the same id, so there is nothing to
move between sites. A patient who changes site is registered at the new one under the
id that site uses, and consents there anew: a consent is recorded by the site's staff
for the care that site gives.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from governance.audit.chain import AuditLog
from governance.clock import as_utc, utcnow
from governance.consent.patient_keys import find, lookup_params
from governance.errors import Conflict, Forbidden, GovernanceError, InvalidInput, NotFound
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.policy.store import PolicyStore
from governance.store.db import joined, read_connection, reading
from governance.store.records import Consent, Patient
from models.card import DATA_CATEGORIES

_patient = Patient.__table__  # type: ignore[attr-defined]
_consent = Consent.__table__  # type: ignore[attr-defined]


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

    # -- writes -------------------------------------------------------------------------
    def register(
        self, principal: Principal, patient_id: str, site: str, *, conn: Connection | None = None
    ) -> tuple[str, bool]:
        """Register (or confirm) patient ``patient_id`` of ``site``. Returns (site,
        created). Whether another site has a patient of the same id plays no part."""
        _check_id("patient_id", patient_id)
        _check_id("site", site)
        params = lookup_params(self._pseudonymiser, site, patient_id)
        policy = self._policies.current()
        decision = policy.allows(principal.role, principal.site, site, "patient", "register")
        if not decision.allowed:
            raise self._refused(
                Forbidden(f"role {principal.role!r} may not register patients at site {site!r}"),
                principal,
                "patient.register",
                params["key"],
                "role or site",
                site,
                joined=conn is not None,
            )
        try:
            with joined(self._engine, conn) as tx:
                if find(tx, params) is not None:
                    return site, False
                tx.execute(
                    insert(_patient).values(
                        patient_key=params["key"],
                        site=site,
                        registered_by=principal.user,
                        registered_at=utcnow(),
                    )
                )
                self._audit.append(
                    "patient.register",
                    {
                        "principal": principal.to_audit(),
                        "patient": params["key"],
                        "site": site,
                        "policy_version": policy.version,
                        "rule": list(decision.rule),
                    },
                    conn=tx,
                )
        except IntegrityError:  # registered by a concurrent request meanwhile
            if conn is not None:  # the caller's transaction is spoilt: it rolls back
                raise Conflict(
                    f"patient registered at site {site!r} by another request meanwhile; "
                    "send it again"
                ) from None
            return site, False
        return site, True

    def grant(
        self,
        principal: Principal,
        patient_id: str,
        purpose: str,
        data_categories: Sequence[str],
        valid_from: datetime | None,
        valid_until: datetime | None,
        site: str | None = None,
        *,
        conn: Connection | None = None,
    ) -> ConsentView:
        key = self._visible_patient(principal, patient_id, "grant", site, conn)
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
        with joined(self._engine, conn) as tx:
            tx.execute(
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
                conn=tx,
            )
        return ConsentView(consent_id, purpose, categories, vf, vu, now, principal.user, None, None)

    def withdraw(
        self,
        principal: Principal,
        patient_id: str,
        consent_id: str,
        site: str | None = None,
        *,
        conn: Connection | None = None,
    ) -> ConsentView:
        key = self._visible_patient(principal, patient_id, "withdraw", site, conn)
        now = utcnow()
        with joined(self._engine, conn) as tx:
            row = tx.execute(
                select(_consent).where(
                    and_(_consent.c.id == consent_id, _consent.c.patient_key == key)
                )
            ).first()
            if row is not None and row.withdrawn_at is None:
                tx.execute(
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
                    conn=tx,
                )
                row = tx.execute(select(_consent).where(_consent.c.id == consent_id)).one()
        if row is None:  # recorded after the read's transaction, which wrote nothing
            raise self._refused(
                NotFound(f"consent {consent_id!r} not found for this patient"),
                principal,
                "consent.withdraw",
                key,
                "no such consent",
                joined=conn is not None,
            )
        return _view(row)  # withdrawn now, or before (withdrawing twice changes nothing)

    def consents(
        self, principal: Principal, patient_id: str, site: str | None = None
    ) -> list[ConsentView]:
        """The patient's consents; the read is audited (who read whose, at which site)
        before they are returned."""
        key = self._visible_patient(principal, patient_id, "read", site)
        with read_connection(self._engine) as conn:
            rows = conn.execute(
                select(_consent)
                .where(_consent.c.patient_key == key)
                .order_by(_consent.c.granted_at)
            ).all()
        self._audit.append(
            "consent.read",
            {
                "principal": principal.to_audit(),
                "patient": key,
                "site": site if site is not None else principal.site,
                "consents": len(rows),
                "policy_version": self._policies.current().version,
            },
        )
        return [_view(r) for r in rows]

    def sites(self, principal: Principal) -> list[str]:
        """The sites at which patients are registered (names only), for a caller who may
        register patients at any site (an admin choosing a site); else Forbidden."""
        if (
            not self._policies.current()
            .allows(principal.role, principal.site, "*", "patient", "register")
            .allowed
            or principal.site is not None
        ):
            raise Forbidden(f"role {principal.role!r} works at its own site only")
        with read_connection(self._engine) as conn:
            rows = conn.execute(select(_patient.c.site).distinct().order_by(_patient.c.site))
            return [str(r[0]) for r in rows]

    def _visible_patient(
        self,
        principal: Principal,
        patient_id: str,
        act: str,
        site: str | None,
        conn: Connection | None = None,
    ) -> str:
        """The stored key of patient ``patient_id`` of ``site`` (default: the caller's
        own site), if the caller may ``act`` on consents there. The answer for an id that
        exists only at another site is the answer for an id that exists nowhere.

        Authorization before input: the role first, then the id and the site, then the
        site's policy, then the patient. Every refusal but bad input is audited (in a
        caller's transaction ``conn``, by the caller)."""
        action = f"consent.{act}"
        inside = conn is not None
        policy = self._policies.current()
        own = principal.site or "*"
        if not policy.allows(principal.role, principal.site, own, "consent", act).allowed:
            forbidden = Forbidden(f"role {principal.role!r} may not {act} consents")
            raise self._refused(forbidden, principal, action, None, "role", joined=inside)
        _check_id("patient_id", patient_id)
        target = site if site is not None else principal.site
        if target is None:
            raise InvalidInput(
                "site is required: patient ids are scoped per site; name the patient's "
                "site (?site=...)",
                field="site",
            )
        _check_id("site", target)
        params = lookup_params(self._pseudonymiser, target, patient_id)
        if not policy.allows(principal.role, principal.site, target, "consent", act).allowed:
            forbidden = Forbidden(
                f"role {principal.role!r} may not {act} consents at site {target!r}"
            )
            raise self._refused(
                forbidden, principal, action, params["key"], "site", target, joined=inside
            )
        with reading(self._engine, conn) as tx:
            key = find(tx, params)
        if key is None:
            missing = NotFound(f"no patient with this id is registered at site {target!r}")
            raise self._refused(
                missing, principal, action, params["key"], "not found", target, joined=inside
            )
        return key

    def _refused(
        self,
        exc: GovernanceError,
        principal: Principal,
        action: str,
        key: str | None,
        why: str,
        site: str | None = None,
        *,
        joined: bool = False,
    ) -> GovernanceError:
        """``exc``, once its refusal is recorded (``action.refused``: who, which patient
        by its keyed pseudonym, at which site, why); ``exc`` as it is when it is raised in
        a caller's transaction (``joined``: the caller records it after its rollback)."""
        if joined:
            return exc
        entry = self._audit.append(
            action + ".refused",
            {
                "principal": principal.to_audit(),
                "patient": key,
                "site": site,
                "reason": why,
                "policy_version": self._policies.current().version,
            },
        )
        exc.audit_id = entry.record_id
        return exc


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
