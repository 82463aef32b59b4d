"""Side-by-side benchmarks of the mechanistic kernels (ratios measured in one run).

``kernel_benchmarks()`` returns one dict per measurement: each kernel per patient against
scipy ``solve_ivp`` (RK45, integrated piecewise between events, outputs compared), and
100,000 virtual PK patients over 72 h at 1 and 2 numba threads. scipy gets a Python
right-hand side, as a scipy user writes it; the glucose case is measured a second time
with the kernel's own compiled right-hand side, so that only the integrators differ. Run
it as ``python -m models.mechanistic.bench``.
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
from models.mechanistic.glucose import GlucoseSchedule, virtual_cohort
from models.mechanistic.glucose_kernels import GP, N_STATE, _rhs, glucose_integrate
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


def _glucose_rhs_python(
    p: FloatArray, iir: float, eat: float, dbar: float
) -> Callable[..., FloatArray]:
    """The UVA/Padova right-hand side in numpy (see glucose_kernels for the equations)."""
    bw, _vg, vi, k1, k2, vm0, vmx, km0, p2u, ib = p[:10]
    kp1, kp2, kp3, ki, fsnc, ke1, ke2, m1, m2, m4 = p[10:20]
    m30, ka1, ka2, kd, kmax, kmin, kabs, b, c, f = p[20:30]
    ksc = p[30]

    def rhs(_t: float, x: FloatArray) -> FloatArray:
        q1, q2, qg, gp, gt, ip, xi, i1, i_d, il, s1, s2, gs, _ = x
        kempt = kmax
        if dbar > 0:
            a, cc = 2.5 / ((1 - b) * dbar), 2.5 / (c * dbar)
            tanhs = np.tanh(a * (q1 + q2 - b * dbar)) - np.tanh(cc * (q1 + q2 - c * dbar))
            kempt = kmin + (kmax - kmin) / 2 * (tanhs + 2)
        insulin = ip / vi
        egp = max(kp1 - kp2 * gp - kp3 * i_d, 0.0)
        dgp = egp + f * kabs * qg / bw - fsnc - ke1 * max(gp - ke2, 0.0) - k1 * gp + k2 * gt
        dgt = -(vm0 + vmx * xi) * gt / (km0 + gt) + k1 * gp - k2 * gt
        return np.array(
            [
                eat - kmax * q1,
                kmax * q1 - kempt * q2,
                kempt * q2 - kabs * qg,
                0.0 if gp <= 0 and dgp < 0 else dgp,
                0.0 if gt <= 0 and dgt < 0 else dgt,
                -(m2 + m4) * ip + m1 * il + ka1 * s1 + ka2 * s2,
                p2u * (insulin - ib - xi),
                -ki * (i1 - insulin),
                -ki * (i_d - i1),
                -(m1 + m30) * il + m2 * ip,
                iir - (kd + ka1) * s1,
                kd * s1 - ka2 * s2,
                ksc * (gp - gs),
                gp,
            ]
        )

    return rhs


def _glucose_rhs_compiled(
    p: FloatArray, iir: float, eat: float, dbar: float
) -> Callable[..., FloatArray]:
    def rhs(_t: float, s: FloatArray) -> FloatArray:
        dy = np.empty(N_STATE)
        _rhs(s, p, iir, eat, dbar, dy)
        return dy

    return rhs


def _glucose_case(compiled_rhs: bool = False) -> dict[str, Any]:
    """Adult subject, a day of three meals with boluses, as the twin runs it (1-min steps,
    meals eaten at 5 g/min, boluses over 1 min): glucose every hour and mean glucose
    compared; minutes in range reported apart."""
    cohort = virtual_cohort()
    params, x0 = cohort.params[10].copy(), cohort.x0[10].copy()
    basal = float(cohort.basal_u_per_h[10])
    times, kinds, values = GlucoseSchedule.from_arrays(
        [0.0, 420.0, 420.0, 720.0, 720.0, 1080.0, 1080.0],
        [2, 0, 1, 0, 1, 0, 1],
        [basal, 60.0, 6.0, 90.0, 9.0, 70.0, 7.0],
    ).kernel_arrays()
    samples = np.arange(0.0, 1441.0, 60.0)
    vg, per_u = params[1], 6000.0 / params[0]
    in_range: dict[str, float] = {}

    def numba_run() -> FloatArray:
        states, summary = glucose_integrate(
            params, x0, times, kinds, values, times.size, samples, 1.0
        )
        in_range["numba"] = float(summary[0])
        return np.append(states[:, GP] / vg, summary[3])

    def scipy_run() -> FloatArray:
        y = np.append(x0, 0.0)
        out = np.zeros(samples.size)
        out[0] = y[GP] / vg
        basal_iir = bolus_iir = eat = minutes = 0.0
        started, eaten = y[0] + y[1], 0.0
        edges = np.unique(np.concatenate([[0.0, 1440.0], times]))
        make_rhs = _glucose_rhs_compiled if compiled_rhs else _glucose_rhs_python
        for a, b in itertools.pairwise(edges):
            for j in np.flatnonzero(times == a):
                if kinds[j] == 0:  # a minute of eating
                    if values[j] > 0.0 and eat == 0.0:
                        started, eaten = y[0] + y[1], 0.0
                    eaten += values[j]
                    eat = 1000.0 * values[j]
                elif kinds[j] == 1:
                    bolus_iir = values[j] * per_u
                else:
                    basal_iir = values[j] / 60.0 * per_u
            rhs = make_rhs(params, basal_iir + bolus_iir, eat, started + 1000.0 * eaten)
            crossings = [lambda _t, s, g=g: s[GP] / vg - g for g in (70.0, 180.0)]
            inside = (samples > a) & (samples <= b)
            sol = solve_ivp(rhs, (a, b), y, dense_output=True, events=crossings, **RK45_TOLERANCES)
            if inside.any():
                out[inside] = sol.sol(samples[inside])[GP] / vg
            cuts = np.sort(np.concatenate([[a, b], *sol.t_events]))
            mids = sol.sol(0.5 * (cuts[:-1] + cuts[1:]))[GP] / vg
            minutes += float(np.sum(np.diff(cuts)[(mids >= 70.0) & (mids <= 180.0)]))
            y = sol.y[:, -1].copy()
        in_range["scipy"] = minutes
        return np.append(out, y[-1] / (vg * 1440.0))

    name = "glucose UVA/Padova, 3 meals + boluses, 24 h"
    if compiled_rhs:
        name += " (scipy with the compiled RHS)"
    result = _compare(name, numba_run, scipy_run)
    result["in_range_diff_min"] = abs(in_range["numba"] - in_range["scipy"])
    result["outputs_agree"] = result["outputs_agree"] and result["in_range_diff_min"] <= 5.0
    return result


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
    results += [_glucose_case(), _glucose_case(compiled_rhs=True)]
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
