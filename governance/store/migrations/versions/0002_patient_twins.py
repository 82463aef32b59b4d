"""Patient twins (issue 14): the patient's data key, twin instances, observations,
calibration states and outputs. Patient data is stored only as ciphertext (``payload``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "patient_data_key",
        _text("patient_key", 64),
        sa.Column("wrapped", sa.Text(), nullable=True),
        _at("created_at"),
        _at("erased_at", nullable=True),
        _text("erased_by", 128, nullable=True),
        sa.PrimaryKeyConstraint("patient_key"),
    )
    op.create_table(
        "patient_twin",
        _text("id", 36),
        _text("patient_key", 64),
        _text("site", 64),
        _text("model", 128),
        _text("model_version", 32),
        _text("purpose", 64),
        sa.Column("state", sa.Integer(), nullable=False),
        _text("status", 16),
        _text("created_by", 128),
        _at("created_at"),
        _text("audit_id", 36),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_patient_twin_patient_key", "patient_twin", ["patient_key"])
    op.create_table(
        "twin_observation",
        _text("id", 36),
        _text("patient_key", 64),
        _text("source", 128),
        _text("entry_id", 128),
        _text("kind", 64),
        _text("category", 32),
        _text("content_digest", 64),
        sa.Column("payload", sa.Text(), nullable=False),
        _at("recorded_at"),
        _text("recorded_by", 128),
        _text("audit_id", 36),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_key", "source", "entry_id", name="uq_twin_observation_key"),
    )
    op.create_index("ix_twin_observation_patient_key", "twin_observation", ["patient_key"])
    op.create_table(
        "twin_state",
        _text("id", 36),
        _text("twin_id", 36),
        sa.Column("number", sa.Integer(), nullable=False),
        _text("status", 16),
        sa.Column("payload", sa.Text(), nullable=False),
        _at("created_at"),
        _text("created_by", 128),
        _text("audit_id", 36),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("twin_id", "number", name="uq_twin_state_number"),
    )
    op.create_index("ix_twin_state_twin_id", "twin_state", ["twin_id"])
    op.create_table(
        "twin_output",
        _text("id", 36),
        _text("twin_id", 36),
        sa.Column("state_number", sa.Integer(), nullable=False),
        _text("kind", 16),
        sa.Column("payload", sa.Text(), nullable=False),
        _at("created_at"),
        _text("created_by", 128),
        _text("audit_id", 36),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_twin_output_twin", "twin_output", ["twin_id", "created_at"])


def downgrade() -> None:
    raise NotImplementedError(
        "the governance schema is only upgraded: restore the backup taken before the upgrade"
    )
