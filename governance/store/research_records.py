"""Tables of research (issue 17): virtual cohorts, in-silico trial jobs and the finished
chunks a job keeps so that it resumes after a crash.

A cohort is versioned by name: creating a cohort under a name already used makes its next
version, the earlier ones stay as they were (a trial names the version it ran on). What a
cohort was drawn from is its ``source``: ``prior`` (a population prior: size, covariate
distributions, seed; ``spec`` holds them) or ``patients`` (the site's patient twins whose
consents covered ``research`` when it was drawn; ``members`` lists them as patient key and
twin id, never a patient id). ``digest`` is the SHA-256 of its canonical content.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable)


class ResearchCohort(SQLModel, table=True):
    """One version of a named cohort."""

    __tablename__ = "research_cohort"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_research_cohort_version"),)

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=64)
    version: int
    #: "prior" or "patients".
    source: str = Field(max_length=16)
    #: The site whose patients it holds (None for a cohort drawn from a prior).
    site: str | None = Field(default=None, max_length=64)
    model: str = Field(max_length=128)
    size: int
    #: Canonical JSON: the prior (size, covariates, seed) or the patients' selection.
    spec: str = Field(sa_column=Column(Text, nullable=False))
    #: Canonical JSON list of {patient, twin} (patient cohorts; "[]" otherwise).
    members: str = Field(sa_column=Column(Text, nullable=False))
    digest: str = Field(max_length=64)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=_ts())
    audit_id: str = Field(max_length=36)


class TrialJob(SQLModel, table=True):
    """An in-silico trial over one cohort version: queued -> running -> done | failed |
    cancelled (a failed or cancelled job may be resumed: it runs its missing chunks)."""

    __tablename__ = "research_trial_job"
    __table_args__ = (Index("ix_research_trial_job_cohort", "cohort_id"),)

    id: str = Field(primary_key=True, max_length=36)
    cohort_id: str = Field(max_length=36)
    cohort_digest: str = Field(max_length=64)
    model: str = Field(max_length=128)
    model_version: str = Field(max_length=32)
    #: Canonical JSON of the request (arms, outputs, targets).
    request: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=16)
    chunks_total: int
    chunks_done: int
    #: The patients the trial ran over, and those who had left it (consent withdrawn).
    patients: int
    withdrawn: int
    requested_by: str = Field(max_length=128)
    requested_role: str = Field(max_length=64)
    requested_site: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    #: Canonical JSON of the released result (done) and its SHA-256.
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    result_digest: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    audit_id: str = Field(max_length=36)
    release_audit_id: str | None = Field(default=None, max_length=36)


class TrialChunk(SQLModel, table=True):
    """A finished chunk of a job: its mergeable per-arm summary (canonical JSON)."""

    __tablename__ = "research_trial_chunk"
    __table_args__ = (UniqueConstraint("job_id", "number", name="uq_research_trial_chunk"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=36)
    number: int
    summary: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_column=_ts())
