"""Trials on a real local Ray (started once for the module, two workers): a trial run
on Ray gives the result the same trial gives on this process's threads; a job cancelled
after its first chunk keeps that chunk, and resumed runs only the missing ones, to the
same result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from api.composition.trial_engine import Runners
from api.composition.trial_runner import RayRunner
from governance.identity.principal import Principal
from tests.api.http.test_research_api import PLAN
from tests.api.twin_course import VANCO

RESEARCHER = Principal("rita", "researcher")
COHORT = {"name": "ray", "model": VANCO, "source": "prior", "prior": {"size": 3000, "seed": 5}}


@pytest.fixture(scope="module")
def ray_runner() -> Iterator[RayRunner]:
    runner = RayRunner(workers=2).start()
    yield runner
    runner.close()


def _trial(service: Any, cohort: str, **options: Any) -> dict[str, Any]:
    job: dict[str, Any] = service.trials.request(
        RESEARCHER, cohort, json.dumps(PLAN).encode(), wait=True, **options
    )
    return job


def test_a_trial_on_ray_cancelled_and_resumed_gives_the_uninterrupted_result(
    service: Any, ray_runner: RayRunner
) -> None:
    cohort = service.cohorts.create(RESEARCHER, json.dumps(COHORT).encode()).id
    local = _trial(service, cohort)  # 6,000 patient-arms: inline, on this process
    service.trials.runners = Runners(None, inline_limit=0, shared=ray_runner)
    on_ray = _trial(service, cohort)
    assert on_ray["state"] == local["state"] == "done"
    assert on_ray["result_digest"] == local["result_digest"]

    def cancel_after_the_first_chunk(done: int, total: int) -> None:
        if done == 1:
            (running,) = service.trials.jobs.running_jobs()
            service.trials.jobs.cancel(RESEARCHER, running.id)

    stopped = _trial(service, cohort, progress=cancel_after_the_first_chunk)
    assert stopped["state"] == "cancelled" and stopped["result"] is None
    assert 1 <= stopped["progress"]["chunks_done"] < stopped["progress"]["chunks_total"]
    kept = service.trials.jobs.chunks(stopped["id"])
    resumed = service.trials.resume(RESEARCHER, stopped["id"], wait=True)
    assert resumed["state"] == "done" and resumed["id"] == stopped["id"]
    assert resumed["result_digest"] == local["result_digest"]
    after = service.trials.jobs.chunks(stopped["id"])
    assert all(after[n] == summary for n, summary in kept.items())  # kept, not run again
    assert len(after) == resumed["progress"]["chunks_total"]
