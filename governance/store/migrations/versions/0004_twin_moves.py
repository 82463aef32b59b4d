"""Moves of patient twins (issue 14): a twin moved to a newly approved version of its
model, recalibrated under it; which state was the first on the new version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, length: int) -> sa.Column[object]:
    return sa.Column(name, sa.String(length=length), nullable=False)


def upgrade() -> None:
    op.create_table(
        "twin_move",
        _text("id", 36),
        _text("twin_id", 36),
        _text("from_version", 32),
        _text("to_version", 32),
        sa.Column("state_number", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _text("created_by", 128),
        _text("audit_id", 36),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_twin_move_twin_id", "twin_move", ["twin_id"])


def downgrade() -> None:
    raise NotImplementedError(
        "the governance schema is only upgraded: restore the backup taken before the upgrade"
    )
