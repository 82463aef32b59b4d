"""The governance schema from before migrations, frozen: the tables, indexes and
constraints that ``SQLModel.metadata.create_all`` made up to commit 9cbf637.

A database holding twinreg's tables without a schema revision was made by that code. It
is recognised by comparing it with these definitions (no difference allowed), then
stamped as :data:`REVISION`, whose migration creates exactly these, and upgraded from
there. Never edit them: later schemas are migrations (``versions/``).

Constraints are unnamed, as ``create_all`` made them: PostgreSQL names them itself
(``<table>_<columns>_key``, ``consent_patient_key_fkey``), SQLite keeps them anonymous.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: The revision whose migration creates these tables.
REVISION = "0001"

METADATA = MetaData()


def _at(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


Table(
    "patient",
    METADATA,
    Column("patient_key", String(64), nullable=False),
    Column("site", String(64), nullable=False),
    Column("registered_by", String(128), nullable=False),
    _at("registered_at"),
    PrimaryKeyConstraint("patient_key"),
    Index("ix_patient_site", "site"),
)
Table(
    "model_version",
    METADATA,
    Column("id", Integer, nullable=False),
    Column("model", String(128), nullable=False),
    Column("version", String(32), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("registrant", String(128), nullable=False),
    _at("registered_at"),
    Column("artifact_sha256", String(64), nullable=False),
    Column("card_json", Text, nullable=False),
    Column("environment_json", Text, nullable=False),
    Column("evaluation_digest", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("model", "version"),
    Index("ix_model_version_model", "model"),
)
Table(
    "transition",
    METADATA,
    Column("id", Integer, nullable=False),
    Column("model", String(128), nullable=False),
    Column("version", String(32), nullable=False),
    Column("from_status", String(32), nullable=True),
    Column("to_status", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    _at("at"),
    PrimaryKeyConstraint("id"),
    Index("ix_transition_model", "model"),
)
Table(
    "bias_audit",
    METADATA,
    Column("id", String(36), nullable=False),
    Column("model", String(128), nullable=False),
    Column("version", String(32), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("metrics_json", Text, nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("evaluation_digest", String(64), nullable=False),
    Column("auditor", String(128), nullable=False),
    _at("at"),
    PrimaryKeyConstraint("id"),
    Index("ix_bias_audit_version", "model", "version"),
)
Table(
    "audit_record",
    METADATA,
    Column("seq", Integer, nullable=False),
    Column("record_id", String(36), nullable=False),
    _at("at"),
    Column("action", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("seq"),
    UniqueConstraint("record_id"),
    Index("ix_audit_record_action", "action"),
)
Table(
    "revoked_token",
    METADATA,
    Column("id", Integer, nullable=False),
    Column("jti", String(64), nullable=True),
    Column("subject", String(128), nullable=True),
    _at("revoked_at"),
    Column("revoked_by", String(128), nullable=False),
    PrimaryKeyConstraint("id"),
    Index("ix_revoked_token_jti", "jti"),
    Index("ix_revoked_token_subject", "subject"),
)
Table(
    "override",
    METADATA,
    Column("id", String(36), nullable=False),
    Column("audit_id", String(36), nullable=False),
    Column("model", String(128), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("patient_key", String(64), nullable=False),
    Column("site", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("clinician", String(128), nullable=False),
    _at("at"),
    Column("override_audit_id", String(36), nullable=False),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("audit_id", "clinician"),
    Index("ix_override_audit_id", "audit_id"),
)
Table(
    "validation_dossier",
    METADATA,
    Column("id", String(36), nullable=False),
    Column("model", String(128), nullable=False),
    Column("version", String(32), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("criteria_digest", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("evaluation_digest", String(64), nullable=False),
    Column("validator", String(128), nullable=False),
    _at("at"),
    PrimaryKeyConstraint("id"),
    Index("ix_validation_dossier_version", "model", "version"),
)
Table(
    "consent",
    METADATA,
    Column("id", String(36), nullable=False),
    Column("patient_key", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("data_categories", Text, nullable=False),
    _at("valid_from", nullable=True),
    _at("valid_until", nullable=True),
    Column("granted_by", String(128), nullable=False),
    _at("granted_at"),
    Column("withdrawn_by", String(128), nullable=True),
    _at("withdrawn_at", nullable=True),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["patient_key"], ["patient.patient_key"]),
    Index("ix_consent_patient_purpose", "patient_key", "purpose"),
)

#: The names of twinreg's tables before migrations.
TABLES = frozenset(METADATA.tables)
