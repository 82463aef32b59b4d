"""The trial runners: numba threads in-process and a real local Ray (started once for this
module, on its own free ports, shut down after), with progress, a
cancellation between chunks and a resumption from the chunks already finished."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray

from api.composition.settings import Settings
from api.composition.trial_runner import LocalRunner, Progress, RayRunner, runner_for
from api.errors import TrialRunFailed
from models.trials import (
    Arm,
    ChunkResult,
    CohortPrior,
    Regimen,
    Target,
    TrialPlan,
    VirtualCohort,
    draw,
)

PLAN = TrialPlan(
    arms=(
        Arm("q12h", Regimen(12, 1, 6, dose_mg_per_kg=15)),
        Arm("q8h", Regimen(8, 1, 9, dose_mg_per_kg=10)),
    ),
    targets=(Target("auc24", 400, 600),),
    chunk_size=2_000,
)
COHORT = draw(CohortPrior(size=9_000, seed=12))  # 5 chunks per arm, 10 in all


@pytest.fixture(scope="module")
def ray_runner() -> Iterator[RayRunner]:
    with RayRunner(workers=2) as runner:
        yield runner
    assert not ray.is_initialized()


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def test_the_local_ray_has_its_own_port_and_one_numba_thread_per_worker(
    ray_runner: RayRunner,
) -> None:
    port = ray.get_runtime_context().gcs_address.rsplit(":", 1)[1]
    assert int(port) != 6379  # Redis's port on this machine, and Ray's own default
    assert ray.get(ray.remote(num_cpus=1)(_numba_threads).remote()) == 1
    assert ray.cluster_resources()["CPU"] == 2  # type: ignore[no-untyped-call]
    with pytest.raises(TrialRunFailed, match="already initialised"):
        RayRunner(workers=1).start()


def test_ray_and_threads_give_the_same_summary_with_progress(ray_runner: RayRunner) -> None:
    seen: list[Progress] = []
    on_ray = ray_runner.run(COHORT, PLAN, on_chunk=lambda _, p: seen.append(p))
    local = LocalRunner(threads=2).run(COHORT, PLAN)
    assert not on_ray.cancelled and on_ray.summary is not None
    assert on_ray.summary == local.summary
    assert [p.done for p in seen] == list(range(1, 11)) and {p.total for p in seen} == {10}
    assert sorted(r.chunk.key for r in on_ray.results) == sorted(c.key for c in PLAN.chunks(9_000))


def test_a_cancelled_ray_run_resumes_from_its_finished_chunks(ray_runner: RayRunner) -> None:
    kept: list[ChunkResult] = []
    first = ray_runner.run(COHORT, PLAN, on_chunk=lambda r, _: kept.append(r),
                           cancelled=lambda: len(kept) >= 3)  # fmt: skip
    assert first.cancelled and first.summary is None
    assert [r.chunk for r in first.results] == [r.chunk for r in kept] and len(kept) == 3
    rerun: list[ChunkResult] = []
    second = ray_runner.run(COHORT, PLAN, done=kept, on_chunk=lambda r, _: rerun.append(r))
    assert len(rerun) == 7 and not {r.chunk.key for r in rerun} & {r.chunk.key for r in kept}
    assert second.summary == LocalRunner().run(COHORT, PLAN).summary


def test_tasks_drawing_their_own_patients_give_the_same_summary(ray_runner: RayRunner) -> None:
    ray_runner.draw_in_tasks = True
    try:
        drawn = ray_runner.run(COHORT, PLAN)
    finally:
        ray_runner.draw_in_tasks = False
    assert drawn.summary == LocalRunner().run(COHORT, PLAN).summary
    assert sorted(r.chunk.key for r in drawn.results) == sorted(c.key for c in PLAN.chunks(9_000))


def test_a_failing_chunk_stops_the_ray_run_with_a_clear_error(ray_runner: RayRunner) -> None:
    bad = VirtualCohort(
        weight_kg=np.full(3_000, 500.0),  # outside the twin's range: refused in the worker
        creatinine_clearance=np.full(3_000, 90.0),
        dialysis=np.zeros(3_000, dtype=bool),
        eta=np.zeros((3_000, 3)),
        source={},
    )
    with pytest.raises(TrialRunFailed, match="weight"):
        ray_runner.run(bad, PLAN)


def test_the_thread_runner_cancels_between_chunks_and_ignores_foreign_results() -> None:
    runner = LocalRunner(threads=1)
    calls: list[int] = []
    stopped = runner.run(COHORT, PLAN, cancelled=lambda: calls.append(1) is None and len(calls) > 2)
    assert stopped.cancelled and len(stopped.results) == 2 and stopped.summary is None
    other_plan = TrialPlan(arms=PLAN.arms, targets=PLAN.targets, chunk_size=3_000)
    foreign = LocalRunner().run(COHORT, other_plan).results
    resumed = runner.run(COHORT, PLAN, done=[*stopped.results, *foreign])
    assert len(resumed.results) == 10
    assert resumed.summary == LocalRunner().run(COHORT, PLAN).summary


def test_the_ray_address_comes_from_the_settings(tmp_path: Path) -> None:
    assert Settings.load(tmp_path, environ={}).ray_address is None
    env = {"TWINREG_RAY_ADDRESS": " ray://head:10001 "}
    address = Settings.load(tmp_path, environ=env).ray_address
    assert address == "ray://head:10001"
    assert runner_for(address).address == "ray://head:10001"
