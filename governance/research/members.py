"""Who may be in a real-patient cohort: the site's active patient twins of a model whose
patients have an active consent for ``research`` covering the model's data categories,
read in bulk (one statement per few hundred patients), never one patient at a time.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Engine, or_, select

from governance.research.cohorts import Member
from governance.store.db import read_connection
from governance.store.records import Consent, Patient
from governance.store.twin_records import PatientDataKey, PatientTwin

_consent = Consent.__table__  # type: ignore[attr-defined]
_patient = Patient.__table__  # type: ignore[attr-defined]
_twin = PatientTwin.__table__  # type: ignore[attr-defined]
_key = PatientDataKey.__table__  # type: ignore[attr-defined]
RESEARCH = "research"
_BATCH = 500


def site_twins(engine: Engine, site: str, model: str) -> list[Member]:
    """The site's active twins of ``model`` whose patient is not erased, oldest first
    (one per patient: their oldest active twin of the model)."""
    stmt = (
        select(_twin.c.patient_key, _twin.c.id)
        .outerjoin(_key, _key.c.patient_key == _twin.c.patient_key)
        .where(
            _twin.c.site == site,
            _twin.c.model == model,
            _twin.c.status == "active",
            _key.c.erased_at.is_(None),
        )
        .order_by(_twin.c.created_at, _twin.c.id)
    )
    seen: set[str] = set()
    members: list[Member] = []
    with read_connection(engine) as conn:
        for patient_key, twin_id in conn.execute(stmt):
            if patient_key not in seen:
                seen.add(patient_key)
                members.append(Member(patient_key, twin_id))
    return members


def consenting(
    engine: Engine,
    site: str,
    patients: Collection[str],
    categories: Collection[str],
    at: datetime,
    purpose: str = RESEARCH,
) -> frozenset[str]:
    """Those of ``patients`` registered at ``site`` whose active consents for
    ``purpose`` at ``at`` cover every one of ``categories``."""
    needed = frozenset(categories)
    covered: dict[str, set[str]] = {}
    keys = sorted(set(patients))
    with read_connection(engine) as conn:
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            rows = conn.execute(
                select(_consent.c.patient_key, _consent.c.data_categories)
                .join(_patient, _patient.c.patient_key == _consent.c.patient_key)
                .where(
                    _consent.c.patient_key.in_(batch),
                    _patient.c.site == site,
                    _consent.c.purpose == purpose,
                    _consent.c.withdrawn_at.is_(None),
                    or_(_consent.c.valid_from.is_(None), _consent.c.valid_from <= at),
                    or_(_consent.c.valid_until.is_(None), _consent.c.valid_until > at),
                )
            )
            for key, listed in rows:
                covered.setdefault(key, set()).update(json.loads(listed))
    return frozenset(key for key, have in covered.items() if needed <= have)


def still_in(members: Sequence[Member], consented: frozenset[str]) -> list[Member]:
    """The members whose patient is among ``consented``, in the cohort's order."""
    return [m for m in members if m.patient in consented]
