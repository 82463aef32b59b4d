"""Tables of patient twins (issue 14): the patient's data key, twin instances, observations,
calibration states and outputs (forecasts and recommendations).

Patient data (observation contents, states, outputs) is stored only as ``payload``: AES-GCM
ciphertext under the patient's data key (:mod:`governance.twins.keys`), whose wrapped form
is ``patient_data_key.wrapped``; erasing the patient destroys it. What stays in clear is
what the service needs to find and order rows: keys, kinds, categories, statuses, times of
recording, and the audit record of each row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable)


class PatientDataKey(SQLModel, table=True):
    """A patient's data key, wrapped by the master key; NULL once the patient is erased."""

    __tablename__ = "patient_data_key"

    patient_key: str = Field(primary_key=True, max_length=64)
    wrapped: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    erased_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    erased_by: str | None = Field(default=None, max_length=128)


class PatientTwin(SQLModel, table=True):
    """One patient's instance of a twin model version; ``state`` counts its calibrations."""

    __tablename__ = "patient_twin"

    id: str = Field(primary_key=True, max_length=36)
    patient_key: str = Field(index=True, max_length=64)
    site: str = Field(max_length=64)
    model: str = Field(max_length=128)
    model_version: str = Field(max_length=32)
    purpose: str = Field(max_length=64)
    state: int
    #: "active" or "retired" (the patient was erased).
    status: str = Field(max_length=16)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=_ts())
    audit_id: str = Field(max_length=36)


class TwinObservation(SQLModel, table=True):
    """One observation of a patient; (patient, source, id) is the idempotency key."""

    __tablename__ = "twin_observation"
    __table_args__ = (
        UniqueConstraint("patient_key", "source", "entry_id", name="uq_twin_observation_key"),
    )

    id: str = Field(primary_key=True, max_length=36)
    patient_key: str = Field(index=True, max_length=64)
    source: str = Field(max_length=128)
    entry_id: str = Field(max_length=128)
    kind: str = Field(max_length=64)
    category: str = Field(max_length=32)
    #: HMAC of the canonical content under the patient's key (idempotency check).
    content_digest: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(sa_column=_ts())
    recorded_by: str = Field(max_length=128)
    audit_id: str = Field(max_length=36)


class TwinState(SQLModel, table=True):
    """A calibration: state ``number`` of a twin (converged or failed), immutable."""

    __tablename__ = "twin_state"
    __table_args__ = (UniqueConstraint("twin_id", "number", name="uq_twin_state_number"),)

    id: str = Field(primary_key=True, max_length=36)
    twin_id: str = Field(index=True, max_length=36)
    number: int
    #: "converged" or "failed" (stored, never served).
    status: str = Field(max_length=16)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    created_by: str = Field(max_length=128)
    audit_id: str = Field(max_length=36)


class TwinOutput(SQLModel, table=True):
    """A released forecast or recommendation of a twin, from one state."""

    __tablename__ = "twin_output"
    __table_args__ = (Index("ix_twin_output_twin", "twin_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    twin_id: str = Field(max_length=36)
    state_number: int
    #: "forecast" or "recommendation".
    kind: str = Field(max_length=16)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    created_by: str = Field(max_length=128)
    audit_id: str = Field(max_length=36)


class TwinConsentGap(SQLModel, table=True):
    """A clinician's confirmation of one consent gap of a twin (issue 14): the time between
    a withdrawal (or expiry) and the next grant covering the twin's data, when observations
    were refused. ``resolution``: ``filled`` (what happened in it was sent since) or
    ``empty`` (nothing happened in it). Until each gap of a twin is confirmed, the twin is
    incomplete and refuses calibrations, forecasts and recommendations."""

    __tablename__ = "twin_consent_gap"
    __table_args__ = (UniqueConstraint("twin_id", "gap_start", name="uq_twin_consent_gap"),)

    id: str = Field(primary_key=True, max_length=36)
    twin_id: str = Field(max_length=36, index=True)
    gap_start: datetime = Field(sa_column=_ts())
    gap_end: datetime = Field(sa_column=_ts())
    resolution: str = Field(max_length=16)
    confirmed_at: datetime = Field(sa_column=_ts())
    confirmed_by: str = Field(max_length=128)
    audit_id: str = Field(max_length=36)


class TwinMove(SQLModel, table=True):
    """A twin moved to another approved version of its model: recalibrated from its
    observations under it (state ``state_number``, the first on ``to_version``). The
    clinician's reason is patient data: sealed in ``payload`` with the versions."""

    __tablename__ = "twin_move"

    id: str = Field(primary_key=True, max_length=36)
    twin_id: str = Field(index=True, max_length=36)
    from_version: str = Field(max_length=32)
    to_version: str = Field(max_length=32)
    state_number: int
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    created_by: str = Field(max_length=128)
    audit_id: str = Field(max_length=36)
