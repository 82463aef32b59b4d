"""What a transaction Bundle's observations need of consent, judged before anything is
stored: the patient's consents in force now that the Bundle does not withdraw, with the
Bundle's own grants, must cover each observation's data category for each judged purpose
(the purpose named, else those of the patient's active twins, else those the Bundle's
Consents grant) — as ``POST /v1/patients/{id}/observations`` judges it once they are stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection, select

from api.fhir.bundle import PatientPlan
from api.fhir.consents import ConsentGrant
from governance.clock import as_utc
from governance.errors import InvalidInput, NotFound
from governance.policy.observation_kinds import ObservationKind
from governance.store.records import Consent

_consent = Consent.__table__  # type: ignore[attr-defined]


def stored_consents(conn: Connection, key: str | None) -> list[Consent]:
    """The patient's consents as stored, read in the Bundle's transaction ``conn`` (none
    for a patient not registered yet)."""
    if key is None:
        return []
    rows = conn.execute(select(_consent).where(_consent.c.patient_key == key)).all()
    return [Consent(**row._mapping) for row in rows]


def withdrawn_ids(plan: PatientPlan, stored: Iterable[Consent]) -> set[str]:
    """The consent ids the Bundle withdraws, each one of the patient's (else 404)."""
    known = {c.id for c in stored}
    named = {t.withdraw for _, t in plan.consents if t.withdraw is not None}
    for consent_id in sorted(named - known):
        raise NotFound(f"consent {consent_id!r} not found for this patient")
    return named


def _in_force(valid_from: datetime | None, valid_until: datetime | None, now: datetime) -> bool:
    return (valid_from is None or as_utc(valid_from) <= now) and (
        valid_until is None or as_utc(valid_until) > now
    )


def covered(
    purpose: str,
    stored: Iterable[Consent],
    withdrawn: set[str],
    grants: Iterable[ConsentGrant],
    now: datetime,
) -> set[str]:
    """The categories the patient's consents for ``purpose`` cover at ``now`` once the
    Bundle is stored."""
    out: set[str] = set()
    for c in stored:
        live = c.purpose == purpose and c.withdrawn_at is None and c.id not in withdrawn
        if live and _in_force(c.valid_from, c.valid_until, now):
            out.update(json.loads(c.data_categories))
    for g in grants:
        if g.purpose == purpose and _in_force(g.valid_from, g.valid_until, now):
            out.update(g.categories)
    return out


def judged_purposes(
    plan: PatientPlan, named: str | None, twin_purposes: Iterable[str]
) -> list[str]:
    """The purposes whose consent the observations need (see the module)."""
    if named is not None:
        return [named]
    purposes = sorted(set(twin_purposes))
    if not purposes:
        purposes = sorted({g.purpose for _, t in plan.consents for g in t.grants})
    if not purposes:
        raise InvalidInput(
            "name a purpose (?purpose=), create a twin, or grant a Consent in this Bundle: "
            "consent is judged per purpose",
            field="purpose",
        )
    return purposes


def needed(plan: PatientPlan, kinds: Mapping[str, ObservationKind]) -> set[str]:
    """The data categories of the patient's observations in the Bundle."""
    return {kinds[entry.raw["kind"]].category for _, entry in plan.observations}
