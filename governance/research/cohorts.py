"""Cohorts: each version of a named cohort stored with what it was drawn from and its
digest, committed with its audit record (``cohort.create``).

A cohort drawn from a prior keeps the prior (size, covariate distributions, seed): the
virtual patients are drawn again from it, identically, by every trial. A cohort drawn
from patient twins keeps its members as (patient key, twin id): never a patient id, and
no patient data (the twins' states stay in the bank, sealed under each patient's key).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from governance.audit.chain import AuditLog
from governance.canonical import canonical_json, iso_utc
from governance.clock import as_utc, utcnow
from governance.errors import Conflict, NotFound
from governance.identity.principal import Principal
from governance.store.db import read_connection
from governance.store.research_records import ResearchCohort

_cohort = ResearchCohort.__table__  # type: ignore[attr-defined]
Source = Literal["prior", "patients"]
PRIOR: Source = "prior"
PATIENTS: Source = "patients"


@dataclass(frozen=True)
class Member:
    """A patient of a real-patient cohort: their stored key and the twin drawn."""

    patient: str
    twin: str


@dataclass(frozen=True)
class Cohort:
    id: str
    name: str
    version: int
    source: Source
    site: str | None
    model: str
    size: int
    spec: dict[str, Any]
    members: tuple[Member, ...]
    digest: str
    created_by: str
    created_at: datetime
    audit_id: str

    @property
    def real_patients(self) -> bool:
        return self.source == PATIENTS

    def to_dict(self) -> dict[str, Any]:
        """What a researcher reads: never the members, only how many."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "site": self.site,
            "model": self.model,
            "size": self.size,
            "drawn_from": self.spec,
            "digest": self.digest,
            "created_by": self.created_by,
            "created_at": iso_utc(self.created_at),
            "audit_id": self.audit_id,
        }


def cohort_digest(
    name: str,
    version: int,
    source: str,
    site: str | None,
    model: str,
    spec: Mapping[str, Any],
    members: Sequence[Member],
) -> str:
    """SHA-256 of the cohort's canonical content (what a trial's record names)."""
    body = {
        "name": name,
        "version": version,
        "source": source,
        "site": site,
        "model": model,
        "spec": dict(spec),
        "members": [[m.patient, m.twin] for m in members],
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _view(row: Any) -> Cohort:
    members = tuple(Member(p, t) for p, t in json.loads(row.members))
    return Cohort(
        row.id, row.name, row.version, row.source, row.site, row.model, row.size,
        json.loads(row.spec), members, row.digest, row.created_by, as_utc(row.created_at),
        row.audit_id,
    )  # fmt: skip


class CohortStore:
    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    def create(
        self,
        principal: Principal,
        name: str,
        source: Source,
        site: str | None,
        model: str,
        spec: Mapping[str, Any],
        members: Sequence[Member],
        size: int,
    ) -> Cohort:
        """The next version of cohort ``name``, with its ``cohort.create`` record (who,
        the cohort, its source, size and digest; never a member) in the same transaction."""
        cohort_id = str(uuid.uuid4())
        try:
            with self._engine.begin() as conn:
                latest = conn.execute(
                    select(func.max(_cohort.c.version)).where(_cohort.c.name == name)
                ).scalar_one_or_none()
                version = int(latest or 0) + 1
                digest = cohort_digest(name, version, source, site, model, spec, members)
                body = {
                    "principal": principal.to_audit(),
                    "cohort": cohort_id,
                    "name": name,
                    "version": version,
                    "source": source,
                    "site": site,
                    "model": model,
                    "size": size,
                    "cohort_digest": digest,
                }
                audit_id = self._audit.append("cohort.create", body, conn=conn).record_id
                conn.execute(
                    insert(_cohort).values(
                        id=cohort_id, name=name, version=version, source=source, site=site,
                        model=model, size=size, spec=canonical_json(dict(spec)),
                        members=canonical_json([[m.patient, m.twin] for m in members]),
                        digest=digest, created_by=principal.user, created_at=utcnow(),
                        audit_id=audit_id,
                    )
                )  # fmt: skip
        except IntegrityError as exc:  # another version of the name was made meanwhile
            raise Conflict(
                f"cohort {name!r} got a new version meanwhile; send the request again"
            ) from exc
        return self.get(cohort_id)

    def get(self, cohort_id: str) -> Cohort:
        with read_connection(self._engine) as conn:
            row = conn.execute(select(_cohort).where(_cohort.c.id == cohort_id)).one_or_none()
        if row is None:
            raise NotFound(f"no cohort {cohort_id}")
        return _view(row)

    def of_sites(self, sites: Sequence[str | None]) -> list[Cohort]:
        """The cohorts of ``sites`` (None: the cohorts drawn from priors), newest first."""
        named = [s for s in sites if s is not None]
        clauses = []
        if None in sites:
            clauses.append(_cohort.c.site.is_(None))
        if named:
            clauses.append(_cohort.c.site.in_(named))
        if not clauses:
            return []
        stmt = select(_cohort).where(or_(*clauses)).order_by(_cohort.c.created_at.desc())
        with read_connection(self._engine) as conn:
            return [_view(r) for r in conn.execute(stmt).all()]
