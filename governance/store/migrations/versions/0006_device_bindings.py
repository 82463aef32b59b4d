"""Device bindings (device streams): a device bound to a patient (and optionally one of
their twins) by a clinician, until unbound; one active binding per device.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "device_binding",
        _text("id", 36),
        _text("device_id", 64),
        _text("site", 64),
        _text("patient_key", 64),
        sa.Column("patient_ref", sa.Text(), nullable=False),
        _text("twin_id", 36, nullable=True),
        sa.Column("active", sa.Integer(), nullable=True),
        _text("bound_by", 128),
        _at("bound_at"),
        _text("audit_id", 36),
        _text("unbound_by", 128, nullable=True),
        _at("unbound_at", nullable=True),
        _text("unbound_audit_id", 36, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "active", name="uq_device_binding_active"),
    )
    op.create_index("ix_device_binding_device_id", "device_binding", ["device_id"])
    op.create_index("ix_device_binding_patient_key", "device_binding", ["patient_key"])


def downgrade() -> None:
    raise NotImplementedError(
        "the governance schema is only upgraded: restore the backup taken before the upgrade"
    )
