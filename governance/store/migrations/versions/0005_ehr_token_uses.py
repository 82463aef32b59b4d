"""The CDS Hooks adapter's replay cache (issue 15): each EHR JWT used, by a digest of its
issuer and jti, until its expiry.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ehr_token_use",
        sa.Column("token_key", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_key"),
    )
    op.create_index("ix_ehr_token_use_expires_at", "ehr_token_use", ["expires_at"])


def downgrade() -> None:
    raise NotImplementedError(
        "the governance schema is only upgraded: restore the backup taken before the upgrade"
    )
