"""Research (issue 17): versioned cohorts, in-silico trial jobs and the finished chunks a
job keeps to resume after a crash.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _int(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _body(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _cohort() -> None:
    op.create_table(
        "research_cohort",
        _text("id", 36),
        _text("name", 64),
        _int("version"),
        _text("source", 16),
        _text("site", 64, nullable=True),
        _text("model", 128),
        _int("size"),
        _body("spec"),
        _body("members"),
        _text("digest", 64),
        _text("created_by", 128),
        _at("created_at"),
        _text("audit_id", 36),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version", name="uq_research_cohort_version"),
    )


def _chunk() -> None:
    op.create_table(
        "research_trial_chunk",
        _int("id"),
        _text("job_id", 36),
        _int("number"),
        _body("summary"),
        _at("at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "number", name="uq_research_trial_chunk"),
    )


def _job() -> None:
    op.create_table(
        "research_trial_job",
        _text("id", 36),
        _text("cohort_id", 36),
        _text("cohort_digest", 64),
        _text("model", 128),
        _text("model_version", 32),
        _body("request"),
        _text("state", 16),
        _int("chunks_total"),
        _int("chunks_done"),
        _int("patients"),
        _int("withdrawn"),
        _text("requested_by", 128),
        _text("requested_role", 64),
        _text("requested_site", 64, nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _body("result", nullable=True),
        _text("result_digest", 64, nullable=True),
        _body("error", nullable=True),
        _text("audit_id", 36),
        _text("release_audit_id", 36, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_research_trial_job_cohort", "research_trial_job", ["cohort_id"])


def upgrade() -> None:
    _cohort()
    _chunk()
    _job()


def downgrade() -> None:
    raise NotImplementedError(
        "the governance schema is only upgraded: restore the backup taken before the upgrade"
    )
