"""Consent gaps of patient twins (issue 14): a clinician's confirmation that a gap between
a withdrawn (or expired) consent and the next grant is filled or empty.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _text(name: str, length: int) -> sa.Column[object]:
    return sa.Column(name, sa.String(length=length), nullable=False)


def upgrade() -> None:
    op.create_table(
        "twin_consent_gap",
        _text("id", 36),
        _text("twin_id", 36),
        _at("gap_start"),
        _at("gap_end"),
        _text("resolution", 16),
        _at("confirmed_at"),
        _text("confirmed_by", 128),
        _text("audit_id", 36),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("twin_id", "gap_start", name="uq_twin_consent_gap"),
    )
    op.create_index("ix_twin_consent_gap_twin_id", "twin_consent_gap", ["twin_id"])


def downgrade() -> None:
    raise NotImplementedError(
        "the governance schema is only upgraded: restore the backup taken before the upgrade"
    )
