"""Trial jobs: an in-silico trial's state (queued -> running -> done | failed |
cancelled), its progress, the chunks it finished (kept, so that a job resumed after a
crash or a cancellation runs only the missing ones) and its released result.

The start (``trial.start``), the release (``trial.release``: cohort digest, result
digest) and a cancellation (``trial.cancel``) each commit with their audit record.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from governance.audit.chain import AuditLog
from governance.canonical import canonical_json, iso_utc
from governance.clock import as_utc, utcnow
from governance.errors import Conflict, NotFound
from governance.identity.principal import Principal
from governance.store.db import read_connection
from governance.store.research_records import TrialChunk, TrialJob

_job = TrialJob.__table__  # type: ignore[attr-defined]
_chunk = TrialChunk.__table__  # type: ignore[attr-defined]
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
#: The states a job may be resumed from.
RESUMABLE = frozenset({FAILED, CANCELLED})
FINISHED = frozenset({DONE, FAILED, CANCELLED})
#: A queued or running job without progress for this long was left by a stopped server.
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Job:
    id: str
    cohort_id: str
    cohort_digest: str
    model: str
    model_version: str
    request: dict[str, Any]
    state: str
    chunks_total: int
    chunks_done: int
    patients: int
    withdrawn: int
    requested_by: str
    requested_role: str
    requested_site: str | None
    created_at: datetime
    updated_at: datetime
    result: dict[str, Any] | None
    result_digest: str | None
    error: str | None
    audit_id: str
    release_audit_id: str | None

    def owned_by(self, principal: Principal) -> bool:
        return (principal.user, principal.site) == (self.requested_by, self.requested_site)

    def to_dict(self) -> dict[str, Any]:
        done = self.chunks_done / self.chunks_total if self.chunks_total else 1.0
        return {
            "id": self.id,
            "kind": "trial",
            "state": self.state,
            "progress": {
                "chunks_done": self.chunks_done,
                "chunks_total": self.chunks_total,
                "fraction": round(done, 4),
            },
            "cohort": self.cohort_id,
            "cohort_digest": self.cohort_digest,
            "model": self.model,
            "version": self.model_version,
            "request": self.request,
            "patients": self.patients,
            "withdrawn": self.withdrawn,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
            "result": self.result,
            "result_digest": self.result_digest,
            "error": self.error,
            "audit_id": self.audit_id,
            "release_audit_id": self.release_audit_id,
        }


def result_digest(result: Mapping[str, Any]) -> str:
    """SHA-256 of the released result's canonical JSON."""
    return hashlib.sha256(canonical_json(dict(result)).encode("utf-8")).hexdigest()


def _view(row: Any) -> Job:
    return Job(
        row.id, row.cohort_id, row.cohort_digest, row.model, row.model_version,
        json.loads(row.request), row.state, row.chunks_total, row.chunks_done, row.patients,
        row.withdrawn, row.requested_by, row.requested_role, row.requested_site,
        as_utc(row.created_at), as_utc(row.updated_at),
        None if row.result is None else json.loads(row.result), row.result_digest, row.error,
        row.audit_id, row.release_audit_id,
    )  # fmt: skip


class TrialJobs:
    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    def start(
        self,
        principal: Principal,
        cohort_id: str,
        cohort_digest: str,
        model: str,
        model_version: str,
        request: Mapping[str, Any],
        chunks_total: int,
        patients: tuple[int, int],
        audit: Mapping[str, Any],
    ) -> Job:
        """A queued job, with its ``trial.start`` record (``audit`` plus the job, the
        cohort digest and how many patients it runs over and how many left it)."""
        job_id, now = str(uuid.uuid4()), utcnow()
        ran, withdrawn = patients
        body = {
            **audit,
            "principal": principal.to_audit(),
            "job": job_id,
            "cohort": cohort_id,
            "cohort_digest": cohort_digest,
            "model": model,
            "model_version": model_version,
            "patients": ran,
            "withdrawn": withdrawn,
        }
        with self._engine.begin() as conn:
            audit_id = self._audit.append("trial.start", body, conn=conn).record_id
            conn.execute(
                insert(_job).values(
                    id=job_id, cohort_id=cohort_id, cohort_digest=cohort_digest, model=model,
                    model_version=model_version, request=canonical_json(dict(request)),
                    state=QUEUED, chunks_total=chunks_total, chunks_done=0, patients=ran,
                    withdrawn=withdrawn, requested_by=principal.user,
                    requested_role=principal.role, requested_site=principal.site,
                    created_at=now, updated_at=now, audit_id=audit_id,
                )
            )  # fmt: skip
        return self.get(job_id)

    def get(self, job_id: str) -> Job:
        with read_connection(self._engine) as conn:
            row = conn.execute(select(_job).where(_job.c.id == job_id)).one_or_none()
        if row is None:
            raise NotFound(f"no job {job_id}")
        return _view(row)

    def _move(self, job_id: str, before: frozenset[str], after: str, **values: Any) -> bool:
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(_job)
                .where(_job.c.id == job_id, _job.c.state.in_(sorted(before)))
                .values(state=after, updated_at=utcnow(), **values)
            ).rowcount
        return bool(changed)

    def run(self, job_id: str) -> bool:
        """Queued -> running (False: it was cancelled meanwhile, or runs already)."""
        return self._move(job_id, frozenset({QUEUED}), RUNNING)

    def requeue(self, job_id: str, stale_after: timedelta = STALE_AFTER) -> Job:
        """A failed or cancelled job queued again to run its missing chunks; also a job
        left queued or running with no progress for ``stale_after`` (its server stopped:
        a running job records each chunk as it finishes)."""
        stale = utcnow() - stale_after
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(_job)
                .where(
                    _job.c.id == job_id,
                    or_(
                        _job.c.state.in_(sorted(RESUMABLE)),
                        and_(_job.c.state.in_([QUEUED, RUNNING]), _job.c.updated_at < stale),
                    ),
                )
                .values(state=QUEUED, updated_at=utcnow(), error=None)
            ).rowcount
        if not changed:
            job = self.get(job_id)
            raise Conflict(
                f"job {job_id} is {job.state}: only a failed or cancelled job is resumed (or "
                f"one without progress for {stale_after.total_seconds() / 60:g} minutes)"
            )
        return self.get(job_id)

    def running_jobs(self) -> list[Job]:
        """Jobs left running or queued (a server that stopped mid-run): to resume."""
        with read_connection(self._engine) as conn:
            rows = conn.execute(select(_job).where(_job.c.state.in_([QUEUED, RUNNING]))).all()
        return [_view(r) for r in rows]

    def cancel(self, principal: Principal, job_id: str) -> Job:
        """Cancel a queued or running job, with its ``trial.cancel`` record; the runner
        stops at its next chunk (finished chunks are kept)."""
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(_job)
                .where(_job.c.id == job_id, _job.c.state.in_([QUEUED, RUNNING]))
                .values(state=CANCELLED, updated_at=utcnow())
            ).rowcount
            if changed:
                body = {"principal": principal.to_audit(), "job": job_id}
                self._audit.append("trial.cancel", body, conn=conn)
        if not changed:
            job = self.get(job_id)
            raise Conflict(
                f"job {job_id} is {job.state}: only a queued or running job is cancelled"
            )
        return self.get(job_id)

    def is_cancelled(self, job_id: str) -> bool:
        with read_connection(self._engine) as conn:
            state = conn.execute(select(_job.c.state).where(_job.c.id == job_id)).scalar_one()
        return bool(state == CANCELLED)

    def add_chunk(self, job_id: str, number: int, summary: Mapping[str, Any]) -> None:
        """Keep a finished chunk (once: a chunk kept already is left as it is)."""
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(_chunk).values(
                        job_id=job_id, number=number,
                        summary=canonical_json(dict(summary)), at=utcnow(),
                    )
                )  # fmt: skip
                conn.execute(
                    update(_job)
                    .where(_job.c.id == job_id)
                    .values(chunks_done=_job.c.chunks_done + 1, updated_at=utcnow())
                )
        except IntegrityError:
            return

    def chunks(self, job_id: str) -> dict[int, dict[str, Any]]:
        """The finished chunks' summaries, by number."""
        with read_connection(self._engine) as conn:
            rows = conn.execute(
                select(_chunk.c.number, _chunk.c.summary).where(_chunk.c.job_id == job_id)
            ).all()
        return {int(r.number): json.loads(r.summary) for r in rows}

    def release(self, job_id: str, result: Mapping[str, Any], audit: Mapping[str, Any]) -> Job:
        """Store the result of a running job with its ``trial.release`` record (``audit``
        plus the job, cohort and result digests). A job cancelled meanwhile releases
        nothing (:class:`Conflict`)."""
        digest = result_digest(result)
        job = self.get(job_id)
        body = {**audit, "job": job_id, "cohort": job.cohort_id,
                "cohort_digest": job.cohort_digest, "model": job.model,
                "model_version": job.model_version, "result_digest": digest}  # fmt: skip
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(_job)
                .where(_job.c.id == job_id, _job.c.state == RUNNING)
                .values(state=DONE, updated_at=utcnow(), result=canonical_json(dict(result)),
                        result_digest=digest)
            ).rowcount  # fmt: skip
            if not changed:
                conn.rollback()
                raise Conflict(f"job {job_id} is no longer running; nothing is released")
            audit_id = self._audit.append("trial.release", body, conn=conn).record_id
            conn.execute(update(_job).where(_job.c.id == job_id).values(release_audit_id=audit_id))
        return self.get(job_id)

    def fail(self, job_id: str, error: str) -> None:
        """A running (or queued) job failed: its chunks are kept for a resume."""
        self._move(job_id, frozenset({QUEUED, RUNNING}), FAILED, error=error)
