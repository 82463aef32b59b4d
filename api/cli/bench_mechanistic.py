"""``twinreg bench --suite mechanistic``: numba kernels, batch threads, explanation cost
and cold start, measured side by side in one run."""

from __future__ import annotations

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
from explain.mechanistic import BACKGROUND_ROWS
from models.mechanistic.bench import kernel_benchmarks
from models.mechanistic_demo import train_mechanistic_twins

#: A fresh process: optionally warm the kernels and shap's exact explainer (what start-up
#: should do: models.mechanistic.warm_up and explain.mechanistic.warm_up_exact_explainer),
#: then time the first explained prediction of one twin. Prints "warm-up seconds,
#: first-explanation seconds".
_COLD_START = """
import sys, time
t0 = time.perf_counter()
from explain import build_explainer
from explain.mechanistic import BACKGROUND_ROWS
from explain.mechanistic import warm_up_exact_explainer
from models.mechanistic import warm_up
from models.mechanistic_demo import train_mechanistic_twins
twins = train_mechanistic_twins()
t1 = time.perf_counter()
if sys.argv[1] == "warm":
    warm_up()
    warm_up_exact_explainer()
t2 = time.perf_counter()
twin = next(t for t in twins if t.name == sys.argv[2])
names = twin.card.feature_names
explainer = build_explainer(twin.card.kind, twin.model, names, twin.background,
                            output=twin.card.default_output)
row = twin.evaluation.loc[:, list(names)].to_numpy()[-1:]
explainer.explain(row)
print(t2 - t1, time.perf_counter() - t2)
"""
_COLD_TWINS = ("vancomycin-auc", "glucose-t1d-tir")


def _cold_start() -> Table:
    """Fresh processes (numba's on-disk cache filled by a first one), without and with
    :func:`models.mechanistic.warm_up` at start-up."""
    table = Table(title="cold start: first explained prediction in a fresh process")
    for col in ("twin", "start-up warm-up s", "first explained prediction s"):
        table.add_column(col, justify="right" if col != "twin" else "left")

    def run(mode: str, name: str) -> tuple[float, float]:
        command = [sys.executable, "-c", _COLD_START, mode, name]
        out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
        warm, first = out.stdout.strip().splitlines()[-1].split()
        return float(warm), float(first)

    run("warm", _COLD_TWINS[0])  # compiles whatever the cache lacks
    for name in _COLD_TWINS:
        for mode in ("cold", "warm"):
            warm, first = run(mode, name)
            label = "-" if mode == "cold" else f"{warm:.2f}"
            table.add_row(f"{name} ({'with' if mode == 'warm' else 'without'} warm_up)",
                          label, f"{first:.3f}")  # fmt: skip
    return table


def _explanation_vs_kernel() -> Table:
    """Each twin's explained prediction next to the bare kernel call on exactly the rows
    that explanation evaluated (recorded from the twin's batch entry point): the ratio is
    what shap's exact-Shapley bookkeeping adds to the kernel work."""
    table = Table(
        title="explained mechanistic prediction vs the bare kernel batch it needs",
        caption="rows evaluated: the masked rows shap needs (a background row equal to the "
        "patient in the toggled input is not re-run) plus the patient's own row, "
        "out of 2^inputs x background + 1",
    )
    for col in ("twin", "inputs", "rows evaluated", "explain ms", "bare batch ms", "ratio"):
        table.add_column(col, justify="right" if col != "twin" else "left")
    for twin in train_mechanistic_twins():
        names = twin.card.feature_names
        output = twin.card.default_output
        model: Any = twin.model
        explainer = build_explainer(
            twin.card.kind, twin.model, names, twin.background, output=output
        )
        row = twin.evaluation.loc[:, list(names)].to_numpy(dtype=np.float64)[:1]
        batches: list[np.ndarray] = []
        batch_entry = model.predict_outputs

        def recording(
            X: np.ndarray, out: str, entry: Any = batch_entry, sink: list[Any] = batches
        ) -> np.ndarray:
            sink.append(np.array(X, dtype=np.float64))
            result: np.ndarray = entry(X, out)
            return result

        model.predict_outputs = recording  # instance attribute: the explainer's calls
        explainer.explain(row)
        del model.predict_outputs
        batch = np.concatenate(batches)
        t_explain = _best(partial(explainer.explain, row))
        t_bare = _best(partial(model.predict_outputs, batch, output))
        table.add_row(
            twin.name,
            str(len(names)),
            f"{len(batch)} of {2 ** len(names) * len(twin.background[:BACKGROUND_ROWS]) + 1}",
            f"{t_explain * 1e3:.1f}",
            f"{t_bare * 1e3:.1f}",
            f"{t_explain / t_bare:.2f}x",
        )
    return table


def _best(fn: Callable[[], object], repeats: int = 9) -> float:
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
        if "in_range_diff_min" in r:
            console.print(f"{r['name']}: minutes in range differ by {r['in_range_diff_min']:.1e}")
        elif "threads" in r:
            console.print(
                f"{r['name']}: {r['threads']} thread(s) {r['seconds']:.2f} s, "
                f"{r['patients_per_s']:.0f} patients/s"
            )
        elif "ratio" in r:
            console.print(f"{r['name']}: {r['ratio']:.2f}x (target >= 1.8x)")
    console.print(_explanation_vs_kernel())
    console.print(_cold_start())
