"""``twinreg bench --suite mechanistic``: numba kernels, batch threads, explanation cost
and cold start, measured side by side in one run."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from explain import build_explainer
from models.mechanistic.bench import kernel_benchmarks
from models.mechanistic_demo import train_mechanistic_twins

_COLD_START = """
import time
t0 = time.perf_counter()
from explain import build_explainer
from models.mechanistic_demo import train_mechanistic_twins
twin = next(t for t in train_mechanistic_twins() if t.name == "vancomycin-auc")
names = twin.card.feature_names
explainer = build_explainer(twin.card.kind, model, names, twin.background,
                            output=twin.card.default_output)
row = twin.evaluation.loc[:, list(names)].to_numpy()[:1]
explainer.explain(row)
print(time.perf_counter() - t0)
"""


def _explanation_vs_kernel(console: Console) -> Table:
    table = Table(title="explained mechanistic prediction vs the bare kernel batch it needs")
    for col in ("twin", "explain ms", "bare batch ms", "ratio"):
        table.add_column(col, justify="right" if col != "twin" else "left")
    for twin in train_mechanistic_twins():
        names = twin.card.feature_names
        output = twin.card.default_output
        model: Any = twin.model
        explainer = build_explainer(
            twin.card.kind, twin.model, names, twin.background, output=output
        )
        row = twin.evaluation.loc[:, list(names)].to_numpy(dtype=np.float64)[:1]
        # every coalition of the inputs over the background: what exact Shapley needs
        masks = np.array(list(itertools.product([0, 1], repeat=len(names))), dtype=bool)
        batch = np.concatenate([np.where(m, row[0], twin.background) for m in masks])
        explainer.explain(row)
        model.predict_outputs(batch, output)
        t_explain = _best(partial(explainer.explain, row))
        t_bare = _best(partial(model.predict_outputs, batch, output))
        table.add_row(
            twin.name, f"{t_explain * 1e3:.1f}", f"{t_bare * 1e3:.1f}", f"{t_explain / t_bare:.2f}x"
        )
    return table


def _best(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run_mechanistic_bench(console: Console | None = None) -> None:
    console = console or Console()
    kernels = Table(title="numba kernels vs scipy solve_ivp (RK45), per patient")
    for col in ("kernel", "numba µs", "scipy ms", "speed-up", "max rel diff"):
        kernels.add_column(col, justify="right" if col != "kernel" else "left")
    rows = kernel_benchmarks()
    for r in rows:
        if "speedup_vs_scipy" in r:
            kernels.add_row(
                r["name"],
                f"{r['numba_s_per_patient'] * 1e6:.0f}",
                f"{r['scipy_rk45_s_per_patient'] * 1e3:.2f}",
                f"{r['speedup_vs_scipy']:.0f}x",
                f"{r['max_rel_diff']:.1e}",
            )
    console.print(kernels)
    for r in rows:
        if "threads" in r:
            console.print(
                f"{r['name']}: {r['threads']} thread(s) {r['seconds']:.2f} s, "
                f"{r['patients_per_s']:.0f} patients/s"
            )
        elif "ratio" in r:
            console.print(f"{r['name']}: {r['ratio']:.2f}x (target >= 1.8x)")
    console.print(_explanation_vs_kernel(console))
    for attempt in ("first process (may compile)", "second process (numba cache)"):
        command = [sys.executable, "-c", _COLD_START]
        out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
        console.print(
            f"cold start to first explained AUC24, {attempt}: "
            f"{float(out.stdout.strip().splitlines()[-1]):.2f} s"
        )
