"""Device bindings (device streams): which patient (and optionally which twin) a device's
readings belong to, who bound it and when, who unbound it and when.

A device names itself in its messages (the broker ties the topic to its credentials); a
binding is what turns its readings into a patient's observations. ``active`` is 1 while
the binding holds and NULL once unbound: the unique constraint on (device, active) lets
a device have one active binding and any number of past ones (NULLs are distinct). The
patient's id, which the ingestion needs to name them to the service, is patient data:
stored only sealed under the patient's key (``patient_ref``), so erasing the patient
leaves the binding unreadable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable)


class DeviceBinding(SQLModel, table=True):
    """A device bound to a patient of a site (and to one of their twins, or none)."""

    __tablename__ = "device_binding"
    __table_args__ = (UniqueConstraint("device_id", "active", name="uq_device_binding_active"),)

    id: str = Field(primary_key=True, max_length=36)
    device_id: str = Field(index=True, max_length=64)
    site: str = Field(max_length=64)
    patient_key: str = Field(index=True, max_length=64)
    #: The patient's id at the site, sealed under the patient's data key.
    patient_ref: str = Field(sa_column=Column(Text, nullable=False))
    twin_id: str | None = Field(default=None, max_length=36)
    #: 1 while bound; NULL once unbound.
    active: int | None = Field(default=None)
    bound_by: str = Field(max_length=128)
    bound_at: datetime = Field(sa_column=_ts())
    audit_id: str = Field(max_length=36)
    unbound_by: str | None = Field(default=None, max_length=128)
    unbound_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    unbound_audit_id: str | None = Field(default=None, max_length=36)
