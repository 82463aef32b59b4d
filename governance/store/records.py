"""Governance tables (sqlmodel). The governance database is the source of truth.

Patients appear only as a keyed hash of their pseudonymous id (``patient_key``).
Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable)


class Patient(SQLModel, table=True):
    __tablename__ = "patient"

    patient_key: str = Field(primary_key=True, max_length=64)
    site: str = Field(index=True, max_length=64)
    registered_by: str = Field(max_length=128)
    registered_at: datetime = Field(sa_column=_ts())


class Consent(SQLModel, table=True):
    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_patient_purpose", "patient_key", "purpose"),)

    id: str = Field(primary_key=True, max_length=36)
    patient_key: str = Field(foreign_key="patient.patient_key", max_length=64)
    purpose: str = Field(max_length=64)
    #: JSON array of data categories, sorted.
    data_categories: str = Field(sa_column=Column(Text, nullable=False))
    valid_from: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    valid_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    granted_by: str = Field(max_length=128)
    granted_at: datetime = Field(sa_column=_ts())
    withdrawn_by: str | None = Field(default=None, max_length=128)
    withdrawn_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ModelVersion(SQLModel, table=True):
    """One registered twin version and its current lifecycle status."""

    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("model", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(index=True, max_length=128)
    version: str = Field(max_length=32)
    kind: str = Field(max_length=64)
    status: str = Field(max_length=32)
    registrant: str = Field(max_length=128)
    registered_at: datetime = Field(sa_column=_ts())
    #: SHA-256 over the artifact files (see registry.hashing).
    artifact_sha256: str = Field(max_length=64)
    card_json: str = Field(sa_column=Column(Text, nullable=False))
    environment_json: str = Field(sa_column=Column(Text, nullable=False))
    evaluation_digest: str = Field(max_length=64)
    run_id: str = Field(max_length=64)


class Transition(SQLModel, table=True):
    """A lifecycle transition: who moved which version from what to what, and why."""

    __tablename__ = "transition"

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(index=True, max_length=128)
    version: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str = Field(max_length=32)
    actor: str = Field(max_length=128)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_column=_ts())


class BiasAudit(SQLModel, table=True):
    __tablename__ = "bias_audit"
    __table_args__ = (Index("ix_bias_audit_version", "model", "version"),)

    id: str = Field(primary_key=True, max_length=36)
    model: str = Field(max_length=128)
    version: str = Field(max_length=32)
    passed: bool
    #: JSON: per sensitive attribute, per metric: groups, gap, threshold, passed.
    metrics_json: str = Field(sa_column=Column(Text, nullable=False))
    policy_version: str = Field(max_length=64)
    evaluation_digest: str = Field(max_length=64)
    auditor: str = Field(max_length=128)
    at: datetime = Field(sa_column=_ts())


class AuditRecord(SQLModel, table=True):
    """One link of the hash chain. ``body`` is stored exactly as it was hashed."""

    __tablename__ = "audit_record"

    seq: int = Field(primary_key=True)
    record_id: str = Field(max_length=36, unique=True)
    at: datetime = Field(sa_column=_ts())
    action: str = Field(index=True, max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class RevokedToken(SQLModel, table=True):
    __tablename__ = "revoked_token"

    id: int | None = Field(default=None, primary_key=True)
    jti: str | None = Field(default=None, index=True, max_length=64)
    subject: str | None = Field(default=None, index=True, max_length=128)
    revoked_at: datetime = Field(sa_column=_ts())
    revoked_by: str = Field(max_length=128)


class Override(SQLModel, table=True):
    """A clinician disregarded or overrode a released prediction (human oversight).

    ``audit_id`` is the record_id of the released decision in the audit log; the patient
    appears only as the keyed hash already in that decision.
    """

    __tablename__ = "override"
    __table_args__ = (UniqueConstraint("audit_id", "clinician"),)

    id: str = Field(primary_key=True, max_length=36)
    audit_id: str = Field(index=True, max_length=36)
    model: str = Field(max_length=128)
    model_version: str = Field(max_length=32)
    patient_key: str = Field(max_length=64)
    site: str = Field(max_length=64)
    #: "disregarded" or "overridden".
    action: str = Field(max_length=16)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    clinician: str = Field(max_length=128)
    at: datetime = Field(sa_column=_ts())
    #: record_id of the "prediction.override" audit record.
    override_audit_id: str = Field(max_length=36)


class ValidationDossier(SQLModel, table=True):
    """A version's validation dossier: held-out performance with intervals, explanation
    checks, verification, credibility record and change control, judged by the policy.

    ``body`` is the canonical JSON text exactly as hashed; ``sha256`` is its digest.
    ``criteria_digest`` identifies the limits it was judged by (thresholds ``[dossier]``
    and ``credibility.toml``): approval needs a passing dossier judged by today's criteria.
    """

    __tablename__ = "validation_dossier"
    __table_args__ = (Index("ix_validation_dossier_version", "model", "version"),)

    id: str = Field(primary_key=True, max_length=36)
    model: str = Field(max_length=128)
    version: str = Field(max_length=32)
    passed: bool
    body: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str = Field(max_length=64)
    criteria_digest: str = Field(max_length=64)
    policy_version: str = Field(max_length=64)
    evaluation_digest: str = Field(max_length=64)
    validator: str = Field(max_length=128)
    at: datetime = Field(sa_column=_ts())


# The patient twins' and device bindings' tables and the CDS Hooks adapter's replay cache:
# the same metadata, so the same migrations and schema checks.
from governance.store import (  # noqa: E402, F401
    cds_records,
    device_records,
    research_records,
    twin_records,
)
