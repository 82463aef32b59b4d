"""Trial jobs on SQLite and PostgreSQL: queued -> running -> done with the release
recorded (cohort and result digests); finished chunks kept once each, so that a failed or
cancelled job is resumed where it stopped; a cancelled job releases nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from governance.audit.chain import AuditLog
from governance.errors import Conflict
from governance.identity.principal import Principal
from governance.research.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    TrialJobs,
    result_digest,
)

RESEARCHER = Principal("rita", "researcher")


def _start(jobs: TrialJobs) -> str:
    job = jobs.start(
        RESEARCHER, "cohort-1", "d" * 64, "vancomycin-auc", "1", {"arms": []}, 3, (100, 0), {}
    )
    assert job.state == QUEUED and job.chunks_done == 0
    return job.id


def _actions(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, body FROM audit_record ORDER BY seq")).all()
    return [{"action": a, **json.loads(b)["payload"]} for a, b in rows]


def test_a_job_runs_keeps_its_chunks_once_and_records_its_release(
    engine: Engine, audit: AuditLog
) -> None:
    jobs = TrialJobs(engine, audit)
    job_id = _start(jobs)
    assert jobs.run(job_id) and not jobs.run(job_id)
    jobs.add_chunk(job_id, 0, {"n": 1})
    jobs.add_chunk(job_id, 0, {"n": 99})  # a chunk finished twice is kept once
    jobs.add_chunk(job_id, 1, {"n": 2})
    assert jobs.chunks(job_id) == {0: {"n": 1}, 1: {"n": 2}}
    assert jobs.get(job_id).chunks_done == 2
    done = jobs.release(job_id, {"arms": [1.5]}, {"principal": RESEARCHER.to_audit()})
    assert done.state == DONE and done.result == {"arms": [1.5]}
    assert done.result_digest == result_digest({"arms": [1.5]})
    release = [r for r in _actions(engine) if r["action"] == "trial.release"]
    assert release[0]["result_digest"] == done.result_digest
    assert release[0]["cohort_digest"] == "d" * 64
    assert done.release_audit_id is not None


def test_a_failed_or_cancelled_job_is_resumed_with_its_chunks(
    engine: Engine, audit: AuditLog
) -> None:
    jobs = TrialJobs(engine, audit)
    job_id = _start(jobs)
    jobs.run(job_id)
    jobs.add_chunk(job_id, 0, {"n": 1})
    jobs.fail(job_id, "worker lost")
    assert jobs.get(job_id).state == FAILED
    again = jobs.requeue(job_id)
    assert again.state == QUEUED and again.error is None and again.chunks_done == 1
    assert jobs.chunks(job_id) == {0: {"n": 1}}
    jobs.run(job_id)
    cancelled = jobs.cancel(RESEARCHER, job_id)
    assert cancelled.state == CANCELLED and jobs.is_cancelled(job_id)
    with pytest.raises(Conflict, match="nothing is released"):
        jobs.release(job_id, {"arms": []}, {})
    assert not any(r["action"] == "trial.release" for r in _actions(engine))
    with pytest.raises(Conflict, match="only a queued or running job"):
        jobs.cancel(RESEARCHER, job_id)
    assert jobs.requeue(job_id).state == QUEUED
    with pytest.raises(Conflict, match="only a failed or cancelled job"):
        jobs.requeue(job_id)
    assert [j.id for j in jobs.running_jobs()] == [job_id]
    assert jobs.run(job_id) and jobs.get(job_id).state == RUNNING


def test_a_job_left_running_by_a_stopped_server_is_resumed_once_stale(
    engine: Engine, audit: AuditLog
) -> None:
    jobs = TrialJobs(engine, audit)
    job_id = _start(jobs)
    jobs.run(job_id)
    jobs.add_chunk(job_id, 0, {"n": 1})
    with pytest.raises(Conflict, match="without progress for 10 minutes"):
        jobs.requeue(job_id)  # running, with recent progress: maybe running elsewhere
    again = jobs.requeue(job_id, stale_after=timedelta(0))
    assert again.state == QUEUED and jobs.chunks(job_id) == {0: {"n": 1}}
