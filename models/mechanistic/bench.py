"""Side-by-side benchmarks of the mechanistic kernels (ratios measured in one run).

``kernel_benchmarks()`` returns one dict per measurement: each kernel per patient against
scipy ``solve_ivp`` (RK45, integrated piecewise between events, outputs compared), and
100,000 virtual PK patients over 72 h at 1 and 2 numba threads. Run it as
``python -m models.mechanistic.bench``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from scipy.integrate import solve_ivp

from models.mechanistic._validation import FloatArray
from models.mechanistic.pk_kernels import pk_integrate, pk_integrate_batch
from models.mechanistic.radiotherapy_kernels import tumour_integrate
from models.mechanistic.windkessel_kernels import windkessel_beat

RK45_TOLERANCES = {"rtol": 1e-8, "atol": 1e-10}


def _per_call(fn: Callable[[], object], min_seconds: float = 0.3) -> float:
    fn()
    calls = 0
    start = time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def _pk_case() -> dict[str, Any]:
    params = np.array([3.9, 58.4, 6.5, 38.4, 1.0, 1.0])
    times = np.arange(0.0, 72.0, 12.0)
    amounts = np.full(times.size, 1000.0)
    routes = np.ones(times.size, dtype=np.int64)
    durations = np.ones(times.size)
    samples = np.linspace(0.0, 72.0, 73)
    cl, v1, q, v2 = params[:4]

    def numba_run() -> FloatArray:
        states: FloatArray = pk_integrate(
            params, times, amounts, routes, durations, times.size, samples, 0.05
        )
        return np.asarray(states[:, 1] / v1, dtype=np.float64)

    def scipy_run() -> FloatArray:
        edges = np.unique(np.concatenate([[0.0, 72.0], times, times + durations]))
        y = np.zeros(2)
        out = np.zeros(samples.size)
        for a, b in itertools.pairwise(edges):
            on = np.any((times <= a) & (times + durations >= b))
            rate = 1000.0 if on else 0.0

            def rhs(_t: float, s: FloatArray, rate: float = rate) -> list[float]:
                return [
                    -(cl + q) / v1 * s[0] + q / v2 * s[1] + rate,
                    q / v1 * s[0] - q / v2 * s[1],
                ]

            inside = (samples > a) & (samples <= b)
            sol = solve_ivp(rhs, (a, b), y, t_eval=samples[inside], **RK45_TOLERANCES)
            out[inside] = sol.y[0] / v1
            if sol.t.size and sol.t[-1] == b:
                y = sol.y[:, -1]
            else:
                y = solve_ivp(rhs, (a, b), y, **RK45_TOLERANCES).y[:, -1]
        return out

    return _compare("pk two-compartment, 6 infusions, 72 h", numba_run, scipy_run)


def _windkessel_case() -> dict[str, Any]:
    params = np.array([0.05, 1.0, 1.5, 60.0 / 72.0, 0.29, 70.0])
    rc, rp, c, period, ts, sv = params
    q_max = np.pi * sv / (2 * ts)

    def numba_run() -> FloatArray:
        _, out = windkessel_beat(params, 400)
        result: FloatArray = out
        return result

    def scipy_run() -> FloatArray:
        def beat(p0: float, dense: bool) -> tuple[float, FloatArray, FloatArray]:
            sys = solve_ivp(
                lambda t, y: [(q_max * np.sin(np.pi * t / ts) - y[0] / rp) / c],
                (0.0, ts),
                [p0],
                dense_output=dense,
                **RK45_TOLERANCES,
            )
            dia = solve_ivp(
                lambda _t, y: [-y[0] / (rp * c)],
                (ts, period),
                sys.y[:, -1],
                dense_output=dense,
                **RK45_TOLERANCES,
            )
            if not dense:
                return float(dia.y[0, -1]), np.empty(0), np.empty(0)
            t_sys = np.linspace(0.0, ts, 4001)
            t_dia = np.linspace(ts, period, 4001)
            p_sys = sys.sol(t_sys)[0] + rc * q_max * np.sin(np.pi * t_sys / ts)
            p_dia = dia.sol(t_dia)[0]
            return (
                float(dia.y[0, -1]),
                np.concatenate([t_sys, t_dia]),
                np.concatenate([p_sys, p_dia]),
            )

        d, _, _ = beat(0.0, False)
        phi = beat(1.0, False)[0] - d
        _, t, p = beat(d / (1.0 - phi), True)
        mean = (np.trapezoid(p[:4001], t[:4001]) + np.trapezoid(p[4001:], t[4001:])) / period
        return np.array([p.max(), p.min(), mean])

    return _compare("windkessel steady-state beat", numba_run, scipy_run, rtol=1e-5)


def _tumour_case() -> dict[str, Any]:
    params = np.array([np.log(2) / 20.0, 500.0, 0.12, 0.012])
    k_days = np.arange(30)
    times = np.asarray(7.0 * (k_days // 5) + (k_days % 5), dtype=np.float64)
    doses = np.full(30, 2.0)
    samples = np.linspace(0.0, 180.0, 181)
    r, k, a, b = params

    def numba_run() -> FloatArray:
        vols, _ = tumour_integrate(params, 0, 30.0, times, doses, 30, samples, 0.05)
        result: FloatArray = vols
        return result

    def scipy_run() -> FloatArray:
        v = 30.0
        out = np.zeros(samples.size)
        edges = np.concatenate([times, [180.0]])
        for i in range(30):
            v *= np.exp(-a * doses[i] - b * doses[i] ** 2)
            lo, hi = edges[i], edges[i + 1]
            inside = (samples >= lo) & (samples < hi) if i < 29 else samples >= lo
            sol = solve_ivp(
                lambda _t, y: r * y * (1 - y / k),
                (lo, hi),
                [v],
                dense_output=True,
                **RK45_TOLERANCES,
            )
            out[inside] = sol.sol(samples[inside])[0]
            v = float(sol.y[0, -1])
        return out

    return _compare("tumour logistic + LQ, 30 fractions, 180 days", numba_run, scipy_run)


def _compare(
    name: str,
    numba_run: Callable[[], FloatArray],
    scipy_run: Callable[[], FloatArray],
    rtol: float = 1e-6,
) -> dict[str, Any]:
    ours = numba_run()
    theirs = scipy_run()
    scale = np.maximum(np.abs(theirs), 1e-12 * np.max(np.abs(theirs)))
    diff = float(np.max(np.abs(ours - theirs) / scale))
    numba_s = _per_call(numba_run)
    scipy_s = _per_call(scipy_run, min_seconds=1.0)
    return {
        "name": name,
        "numba_s_per_patient": numba_s,
        "scipy_rk45_s_per_patient": scipy_s,
        "speedup_vs_scipy": scipy_s / numba_s,
        "max_rel_diff": diff,
        "outputs_agree": diff <= rtol,
    }


def _pk_batch(n: int) -> tuple[Callable[[], FloatArray], int]:
    rng = np.random.default_rng(0)
    params = np.empty((n, 6))
    params[:, 0] = rng.uniform(1.0, 8.0, n)
    params[:, 1] = rng.uniform(30.0, 90.0, n)
    params[:, 2] = 6.5
    params[:, 3] = 38.4
    params[:, 4] = 1.0
    params[:, 5] = 1.0
    times = np.tile(np.arange(0.0, 72.0, 12.0), (n, 1))
    amounts = np.full(times.shape, 1000.0)
    routes = np.ones(times.shape, dtype=np.int64)
    durations = np.ones(times.shape)
    n_doses = np.full(n, times.shape[1], dtype=np.int64)
    samples = np.linspace(0.0, 72.0, 13)

    def run() -> FloatArray:
        result: FloatArray = pk_integrate_batch(
            params, times, amounts, routes, durations, n_doses, samples, 0.05
        )
        return result

    return run, n


def kernel_benchmarks(n_virtual: int = 100_000) -> list[dict[str, Any]]:
    """Measure everything side by side in one run; returns one dict per figure."""
    results = [_pk_case(), _windkessel_case(), _tumour_case()]
    _pk_batch(64)[0]()  # compile / load from cache
    run, n = _pk_batch(n_virtual)
    previous = numba.get_num_threads()
    seconds: dict[int, float] = {}
    try:
        for threads in (1, 2):
            if threads > numba.config.NUMBA_NUM_THREADS:  # type: ignore[attr-defined]
                continue
            numba.set_num_threads(threads)
            run()
            start = time.perf_counter()
            run()
            seconds[threads] = time.perf_counter() - start
            results.append(
                {
                    "name": f"pk batch {n} patients, 72 h",
                    "threads": threads,
                    "seconds": seconds[threads],
                    "patients_per_s": n / seconds[threads],
                }
            )
    finally:
        numba.set_num_threads(previous)
    if 1 in seconds and 2 in seconds:
        results.append(
            {"name": "pk batch speed-up, 2 vs 1 thread", "ratio": seconds[1] / seconds[2]}
        )
    return results


if __name__ == "__main__":
    for row in kernel_benchmarks():
        print(row)
