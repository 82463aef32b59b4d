"""Runners of in-silico trials: the chunks of a :class:`~models.trials.TrialPlan` over a
cohort, on this process's numba threads (:class:`LocalRunner`) or on Ray
(:class:`RayRunner`: a local Ray started here, or a cluster at ``TWINREG_RAY_ADDRESS``).

Both have one interface, :meth:`run`: the chunks already finished (``done``, e.g. kept by
a job before a crash, from the same cohort and plan: the job keeps their digests) are not
run again; ``on_chunk`` receives each newly finished chunk
with the progress (the caller persists it); ``cancelled`` is asked between chunks, and a
cancelled run returns what finished without a summary. No gate or audit happens here:
the composition checks and records a trial once, before and after running it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from api.errors import TrialRunFailed
from models.trials import (
    ChunkResult,
    CohortPrior,
    TrialPlan,
    TrialSummary,
    VirtualCohort,
    draw,
    merge_results,
    run_chunk,
    summarise,
)
from models.trials.plan import Chunk


@dataclass(frozen=True)
class Progress:
    done: int
    total: int


ChunkCallback = Callable[[ChunkResult, Progress], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class TrialRun:
    """Every finished chunk (``done`` included); the summary unless cancelled."""

    results: tuple[ChunkResult, ...]
    cancelled: bool
    summary: TrialSummary | None


class ChunkRunner:
    """:meth:`run` for both runners: the chunks still to do go to :meth:`execute`."""

    def run(
        self,
        cohort: VirtualCohort,
        plan: TrialPlan,
        *,
        done: Iterable[ChunkResult] = (),
        on_chunk: ChunkCallback | None = None,
        cancelled: CancelCheck | None = None,
    ) -> TrialRun:
        chunks = plan.chunks(len(cohort))
        wanted = {c.key: c for c in chunks}
        finished = {r.chunk.key: r for r in done if wanted.get(r.chunk.key) == r.chunk}
        results = list(finished.values())
        todo = [c for c in chunks if c.key not in finished]
        total = len(chunks)

        def record(result: ChunkResult) -> bool:
            """Keep a finished chunk and report it; True when the run is to stop."""
            results.append(result)
            if on_chunk is not None:
                on_chunk(result, Progress(len(results), total))
            return cancelled is not None and cancelled()

        stopped = (cancelled is not None and cancelled()) or (
            bool(todo) and self.execute(cohort, plan, todo, record)
        )
        summary = None
        if not stopped:
            summary = summarise(plan, merge_results(plan, len(cohort), results))
        return TrialRun(tuple(results), stopped, summary)

    def execute(
        self,
        cohort: VirtualCohort,
        plan: TrialPlan,
        todo: list[Chunk],
        record: Callable[[ChunkResult], bool],
    ) -> bool:
        """Run ``todo``, giving each result to ``record``; True if ``record`` said stop."""
        raise NotImplementedError


#: What callers type a runner as (either of the two below).
TrialRunner = ChunkRunner


class LocalRunner(ChunkRunner):
    """Chunks one after another in this process, each on ``threads`` numba threads
    (default: numba's; the benchmark's baseline and the runner for small jobs)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def execute(
        self,
        cohort: VirtualCohort,
        plan: TrialPlan,
        todo: list[Chunk],
        record: Callable[[ChunkResult], bool],
    ) -> bool:
        import numba

        previous = numba.get_num_threads()
        if self.threads is not None:
            most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
            numba.set_num_threads(min(self.threads, most))
        try:
            return any(record(run_chunk(cohort, plan, chunk)) for chunk in todo)
        finally:
            numba.set_num_threads(previous)


def _ray_runtime_env() -> dict[str, Any]:
    """What every worker process runs with: one numba thread (Ray runs one task per CPU)."""
    return {"env_vars": {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}}


class RayRunner(ChunkRunner):
    """Chunks as Ray tasks on ``workers`` CPUs (default: the cluster's), at most
    ``concurrency`` running at once (default ``workers``; each task then reserves
    ``workers / concurrency`` CPUs) and twice that in flight.

    ``address`` None starts a local Ray on this machine (``address="local"``: always a
    fresh cluster on free ports, never one found on the machine; Ray listens on this
    node's address with its token authentication on), without a dashboard; otherwise
    connects to the cluster there. Use it as a context manager (or call :meth:`close`):
    on exit a Ray started here is shut down, a cluster is disconnected from.
    The cohort's model inputs go to the object store once per run (zero-copy for the
    workers on a node); each task reads its slice. With ``draw_in_tasks`` a cohort drawn
    from a prior travels as the prior (bytes, not arrays) and each task draws its own
    range, identical to the driver's (the scale path: docs/scale-trials.md).
    """

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        object_store_bytes: int = 512 * 1024 * 1024,
        concurrency: int | None = None,
        draw_in_tasks: bool = False,
    ) -> None:
        self.workers = workers
        self.address = address
        self.object_store_bytes = object_store_bytes
        self.concurrency = concurrency
        self.draw_in_tasks = draw_in_tasks
        self._task: Any = None

    def start(self) -> RayRunner:
        import ray

        if ray.is_initialized():
            raise TrialRunFailed("Ray is already initialised in this process: one runner at a time")
        try:
            if self.address is None:
                ray.init(
                    address="local",
                    num_cpus=self.workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                    object_store_memory=self.object_store_bytes,
                    runtime_env=_ray_runtime_env(),
                )
            else:
                ray.init(
                    address=self.address,
                    runtime_env=_ray_runtime_env(),
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                )
        except Exception as exc:  # Ray raises many kinds (ConnectionError, RuntimeError...)
            raise TrialRunFailed(f"Ray did not start ({self.address or 'local'}): {exc}") from exc
        if self.workers is None:
            resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
            self.workers = max(1, int(resources.get("CPU", 1)))
        self._task = ray.remote(num_cpus=1, max_retries=2)(_chunk_task)
        return self

    def warm_up(self) -> None:
        """Load the compiled kernels in every worker (one short task per worker at once)."""
        import ray

        task = ray.remote(num_cpus=1)(_warm_task)
        ray.get([task.remote(0.5) for _ in range(self.workers or 1)])

    def close(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        self._task = None

    def __enter__(self) -> RayRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(
        self,
        cohort: VirtualCohort,
        plan: TrialPlan,
        todo: list[Chunk],
        record: Callable[[ChunkResult], bool],
    ) -> bool:
        import ray

        if self._task is None:
            raise TrialRunFailed("the Ray runner is not started (use it in a with block)")
        prior = _prior_of(cohort) if self.draw_in_tasks else None
        # what the model reads, or the prior each task draws its own range of
        cohort_ref = ray.put(prior or dataclasses.replace(cohort, extra={}))
        plan_ref = ray.put(plan)
        queue = list(reversed(todo))
        in_flight: list[Any] = []
        workers = self.workers or 1
        running = min(self.concurrency or workers, workers)
        task = self._task.options(num_cpus=workers / running)
        limit = 2 * running
        try:
            while queue or in_flight:
                while queue and len(in_flight) < limit:
                    in_flight.append(task.remote(cohort_ref, plan_ref, queue.pop()))
                ready, in_flight = ray.wait(in_flight, num_returns=1)
                if record(ray.get(ready[0])):
                    return True
            return False
        except ray.exceptions.RayError as exc:
            raise TrialRunFailed(f"a trial chunk failed on Ray: {exc}") from exc
        finally:
            for ref in in_flight:
                ray.cancel(ref)


def _prior_of(cohort: VirtualCohort) -> CohortPrior | None:
    """The prior a cohort was drawn from (its ``source``), when it was drawn whole."""
    recorded = cohort.source.get("prior")
    if recorded is None:
        return None
    prior = CohortPrior.from_mapping(recorded)
    return prior if prior.size == len(cohort) else None


def _chunk_task(
    patients: VirtualCohort | CohortPrior, plan: TrialPlan, chunk: Chunk
) -> ChunkResult:
    """One chunk; given a prior, the task draws the chunk's patients itself (equal to the
    same range of the whole cohort: :func:`models.trials.draw`)."""
    if isinstance(patients, VirtualCohort):
        return run_chunk(patients, plan, chunk)
    part = draw(patients, chunk.start, chunk.stop)
    local = dataclasses.replace(chunk, start=0, stop=chunk.stop - chunk.start)
    return ChunkResult(chunk, run_chunk(part, plan, local).tally)


def _warm_task(seconds: float) -> int:
    """Compile or load the arm kernel, then hold the worker briefly so that the other
    warm-up tasks land on the other workers."""
    import time

    from models.trials import CohortPrior, Regimen, draw, simulate_arm

    simulate_arm(draw(CohortPrior(size=8, seed=0)), Regimen(12.0, 1.0, 2, dose_mg=1000.0))
    time.sleep(seconds)
    return os.getpid()


def runner_for(ray_address: str | None, workers: int | None = None) -> RayRunner:
    """The Ray runner the settings ask for (a cluster at ``ray_address``, else local)."""
    return RayRunner(workers=workers, address=ray_address)
