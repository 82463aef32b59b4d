"""Without a prefetch, the risk service reads what twinreg holds: the patient's
observations in the twin bank, only those of a data category an active consent for the
service's purpose covers (the rule ingestion applies), the read audited
(``cds.observations.read``: how many were read and how many left for want of consent,
never their content). Nothing is fetched from the EHR.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from api.composition.service import TwinregService
from governance.clock import utcnow
from governance.consent.patient_keys import categories_of, consents_column, lookup_params
from governance.errors import NotFound, PatientErased
from governance.identity.principal import Principal
from governance.store.db import read_connection


def _consented(svc: TwinregService, site: str, patient_id: str, purpose: str) -> frozenset[str]:
    params = {**lookup_params(svc.pseudonymiser, site, patient_id), "purpose": purpose,
              "at": utcnow()}  # fmt: skip
    column = consents_column(svc.engine.dialect.name)
    with read_connection(svc.engine) as conn:
        return categories_of(conn.execute(select(column), params).scalar_one_or_none())


def held_entries(
    svc: TwinregService, principal: Principal, patient_id: str, purpose: str
) -> list[Mapping[str, Any]]:
    """The bodies of the patient's consented observations (empty: no such patient at the
    caller's site, or nothing held)."""
    try:
        key = svc.twins.patient(principal, patient_id, "read", None)
    except NotFound:
        return []
    assert principal.site is not None  # a mapped EHR user acts at the issuer's site
    consented = _consented(svc, principal.site, patient_id, purpose)
    policy = svc.policies.current()
    kinds = policy.observation_kinds
    try:
        records = svc.twins.bank.observations(key)
    except PatientErased:  # erased, or nothing ever stored for the patient
        return []
    kept: list[Mapping[str, Any]] = [
        r.body for r in records
        if r.body.get("kind") in kinds and kinds[r.body["kind"]].category in consented
    ]  # fmt: skip
    svc.audit.append("cds.observations.read", {
        "principal": principal.to_audit(), "patient": key, "purpose": purpose,
        "read": len(kept), "left_without_consent": len(records) - len(kept),
        "policy_version": policy.version,
    })  # fmt: skip
    return kept
