"""``twinreg bench --suite trials``: issue 17's figures, measured side by side in one run.

One virtual vancomycin cohort (1,000,000 patients by default) x 2 arms over 72 h, the same
chunks run three ways: numba ``prange`` in this process on 2 threads (no Ray), Ray with 2
workers, Ray with 1 worker (one local Ray of 2 CPUs, started and warmed before any clock
starts; "1 worker" runs one task at a time, each reserving both CPUs, with the same
pipelining). The ways alternate round after round, so a load from elsewhere on the
machine falls on all of them; the best of ``rounds`` rounds counts. A fourth way, the
same chunks on 1 numba thread, shows how busy the cores are at that moment: below 1 the
second core was mostly taken elsewhere (a fork-join measure, more hurt by a descheduled
thread than Ray's independent tasks).
Every way's summary must be identical. Bounds: Ray 2 workers <= 2x the prange time, and
Ray 2 workers >= 1.7x as fast as 1 worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from api.composition.trial_runner import LocalRunner, RayRunner, TrialRun, TrialRunner
from models.trials import (
    Arm,
    CohortPrior,
    Regimen,
    Target,
    TrialPlan,
    draw,
)

BENCH_PATIENTS = 1_000_000
#: 2 arms x 16 chunks of 65,536: enough tasks to balance two workers, each long enough
#: (about 0.1 s) that Ray's per-task cost stays small.
BENCH_CHUNK = 65_536
ROUNDS = 5
PLAN_ARMS = (
    Arm("15 mg/kg q12h", Regimen(interval_h=12, infusion_h=1, n_doses=6, dose_mg_per_kg=15)),
    Arm("1 g q8h", Regimen(interval_h=8, infusion_h=1, n_doses=9, dose_mg=1000)),
)


def _seconds(run: Callable[[], TrialRun]) -> tuple[float, TrialRun]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def trials_benchmarks(
    n_patients: int = BENCH_PATIENTS, chunk_size: int = BENCH_CHUNK, rounds: int = ROUNDS
) -> dict[str, Any]:
    """Times (s) of the three ways, their ratios and throughputs, and the summary."""
    plan = TrialPlan(
        arms=PLAN_ARMS,
        targets=(Target("auc24", 400.0, 600.0),),
        chunk_size=min(chunk_size, max(1_000, n_patients)),
    )
    start = time.perf_counter()
    cohort = draw(CohortPrior(size=n_patients, seed=2026))
    draw_seconds = time.perf_counter() - start
    local: TrialRunner = LocalRunner(threads=2)
    single: TrialRunner = LocalRunner(threads=1)
    local.run(draw(CohortPrior(size=1_000, seed=1)), plan)  # load the kernels
    times: dict[str, list[float]] = {"prange": [], "ray2": [], "ray1": [], "prange1": []}
    summaries = set()
    start = time.perf_counter()
    with RayRunner(workers=2) as ray_runner:
        ray_runner.warm_up()
        ray_start = time.perf_counter() - start
        ways: dict[str, Callable[[], TrialRun]] = {
            "prange": lambda: local.run(cohort, plan),
            "ray2": lambda: ray_runner.run(cohort, plan),
            "ray1": lambda: ray_runner.run(cohort, plan),
            "prange1": lambda: single.run(cohort, plan),
        }
        for _ in range(rounds):
            for way, run in ways.items():
                ray_runner.concurrency = 1 if way == "ray1" else 2
                seconds, result = _seconds(run)
                times[way].append(seconds)
                summaries.add(repr(result.summary))
    best = {way: min(values) for way, values in times.items()}
    simulated = n_patients * len(plan.arms)
    return {
        "patients": n_patients,
        "arms": len(plan.arms),
        "chunks": len(plan.chunks(n_patients)),
        "chunk_size": plan.chunk_size,
        "draw_seconds": draw_seconds,
        "prange_seconds": best["prange"],
        "ray2_seconds": best["ray2"],
        "ray1_seconds": best["ray1"],
        "times": times,
        "ray_start_seconds": ray_start,
        "ray2_over_prange": best["ray2"] / best["prange"],
        "ray_speedup": best["ray1"] / best["ray2"],
        "prange1_seconds": best["prange1"],
        "machine_speedup": best["prange1"] / best["prange"],
        "per_core_per_second": simulated / best["ray1"],
        "identical_summaries": len(summaries) == 1,
        "summary": result.summary,
    }


def trials_rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, measured, the issue's bound) of :func:`trials_benchmarks`' results."""
    n, arms = r["patients"], r["arms"]
    return [
        (f"cohort drawn ({n:,} virtual patients)", f"{r['draw_seconds']:.2f} s", "-"),
        (f"numba prange, 2 threads, no Ray ({n:,} x {arms} arms, 72 h; {r['chunks']} chunks)",
         f"{r['prange_seconds']:.2f} s", "-"),
        ("Ray, 2 workers", f"{r['ray2_seconds']:.2f} s", "-"),
        ("Ray, 1 worker", f"{r['ray1_seconds']:.2f} s", "-"),
        ("Ray 2 workers / prange", f"{r['ray2_over_prange']:.2f}x", "<= 2x"),
        ("speed-up of Ray 2 workers over 1", f"{r['ray_speedup']:.2f}x", ">= 1.7x"),
        ("  the cores' contention: prange 2 threads over 1 thread "
         f"({r['prange1_seconds']:.2f} s)", f"{r['machine_speedup']:.2f}x", "-"),
        ("patient-arms per second per core (Ray, 1 worker)",
         f"{r['per_core_per_second']:,.0f}", "-"),
        ("local Ray start + warm-up (not in the times)", f"{r['ray_start_seconds']:.1f} s", "-"),
        ("every way's summary identical", "yes" if r["identical_summaries"] else "NO", "yes"),
    ]  # fmt: skip


def run_trials_bench(
    console: Console | None = None,
    n_patients: int = BENCH_PATIENTS,
    rounds: int = ROUNDS,
    chunk_size: int = BENCH_CHUNK,
) -> dict[str, Any]:
    console = console or Console()
    console.rule("in-silico trials on Ray (issue 17)")
    results = trials_benchmarks(n_patients, chunk_size, rounds)
    table = Table(title=f"virtual vancomycin trial: best of {rounds} alternating rounds")
    for col in ("figure", "measured", "issue 17"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    for row in trials_rows(results):
        table.add_row(*row)
    console.print(table)
    for arm in results["summary"].arms:
        a = arm.attainment[0]
        console.print(
            f"{arm.name}: P({a.target}) = {a.proportion:.1%} "
            f"(95% CI {a.low:.1%} to {a.high:.1%}), n = {a.n:,}"
        )
    return results
