"""``twinreg bench``: governed vs bare explained predictions, measured side by side.

bare     = booster.inplace_predict on a numpy row + XGBoost TreeSHAP (pred_contribs)
           + one raw durable, hash-chained SQLite commit (WAL, synchronous=FULL):
           the physical floor of a governed decision; the booster as the registry loads
           it (XGBoost's default threads). For reference also with a single-threaded
           copy, as the runtime serves it (api.composition.runtime), so that the ratio cannot hide
           a threading gain; and that copy with the version's 90% range (models.uncertainty:
           50 refits walked as packed trees), the same work the governed path computes;
governed = the full release gate in-process (policy, consent, approval, bias audit,
           envelope, explanation, additivity, audit commit);
http     = the same request over HTTP to a server in another process on loopback, from a
           lean keep-alive client (one socket, the request bytes built once, the response
           read by Content-Length, parsed and checked: what wrk would do) and, for
           reference, from httpx, whose own work per request is of the order of a whole
           governed decision.

All paths are measured in interleaved blocks, so that drift on the machine hits each alike.
"""

from __future__ import annotations

import hashlib
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import xgboost as xgb
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from api.cli.bench_http import LeanClient, server
from api.cli.demo import CLINICIAN, SITE, run_demo
from api.composition.service import TwinregService
from api.composition.tokens import issue_token
from models.uncertainty import Uncertainty

FloatArray32 = NDArray[np.float32]
MODEL = "whas500-mortality"
PATIENT = "patient-001"
#: The single-threaded bare path with the version's per-patient range added.
BARE_RANGED = "bare, single-threaded, + 90% range"


def _timings(fn: Callable[[], object], rounds: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1e3


def _raw_commit(path: Path) -> Callable[[], None]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS chain (seq INTEGER PRIMARY KEY, body TEXT, hash TEXT)")

    def commit() -> None:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0], row[1]) if row else (0, "0" * 64)
        body = f'{{"decision":"released","seq":{seq + 1}}}'
        digest = hashlib.sha256((prev + body).encode()).hexdigest()
        conn.execute("INSERT INTO chain VALUES (?, ?, ?)", (seq + 1, body, digest))
        conn.execute("COMMIT")

    return commit


@dataclass(frozen=True)
class _Row:
    """The benchmark's one row and the booster it runs on, as the registry loads it."""

    version: str
    booster: xgb.Booster
    names: list[str]
    features: dict[str, float]
    row32: FloatArray32
    #: The version's per-patient range method (models.uncertainty), None without one.
    uncertainty: Uncertainty | None


def run_bench(service: TwinregService, rounds: int, console: Console | None = None) -> None:
    """Measure the bare and governed paths side by side, then a bounded load test."""
    console = console or Console()
    row = _approved_row(service)
    times, rps = _measure_paths(service, row, rounds)
    title = f"twinreg bench: {MODEL} v{row.version}, one row, {rounds} rounds"
    _print_latencies(console, title, times)
    _print_ratios(console, times, rps)
    _print_load(console, service, row.features)


def _approved_row(service: TwinregService) -> _Row:
    """The approved version's first evaluation row (the demo is run first if none is)."""
    if service.lifecycle.approved_version(MODEL) is None:
        run_demo(service, Console(quiet=True))
    state = service.lifecycle.approved_version(MODEL)
    assert state is not None
    twin = service.registry.load(MODEL, state.version, state.artifact_sha256)
    booster: xgb.Booster = twin.model  # type: ignore[assignment]
    names = list(state.card.feature_names)
    row_df = twin.evaluation.loc[:, names].iloc[[0]]
    features = {n: float(row_df.iloc[0][n]) for n in names}
    return _Row(
        state.version,
        booster,
        names,
        features,
        row_df.to_numpy(dtype=np.float32),
        twin.uncertainty,
    )


def _bare_paths(row: _Row, commit: Callable[[], None]) -> dict[str, Callable[[], object]]:
    """Predict only; predict + TreeSHAP + one raw durable commit (also single-threaded)."""
    booster, names, row32 = row.booster, row.names, row.row32
    single = booster.copy()
    single.set_param({"nthread": 1})

    def bare() -> None:
        booster.inplace_predict(row32, predict_type="margin")
        booster.predict(xgb.DMatrix(row32, feature_names=names), pred_contribs=True)
        commit()

    def bare_single() -> None:
        single.inplace_predict(row32, predict_type="margin")
        single.predict(xgb.DMatrix(row32, feature_names=names, nthread=1), pred_contribs=True)
        commit()

    def predict_only() -> None:
        booster.inplace_predict(row32, predict_type="margin")

    paths: dict[str, Callable[[], object]] = {
        "bare predict only": predict_only,
        "bare (predict+TreeSHAP+commit)": bare,
        "bare, single-threaded booster": bare_single,
    }
    uncertainty = row.uncertainty
    if uncertainty is not None:

        def bare_ranged() -> None:
            margin = float(single.inplace_predict(row32, predict_type="margin")[0])
            single.predict(xgb.DMatrix(row32, feature_names=names, nthread=1), pred_contribs=True)
            uncertainty.range_for(row32[0], 1 / (1 + np.exp(-margin)))
            commit()

        paths[BARE_RANGED] = bare_ranged
    return paths


def _governed_paths(
    service: TwinregService, row: _Row, lean: LeanClient, client: httpx.Client
) -> dict[str, Callable[[], object]]:
    """The full release gate in-process, and over HTTP from the lean client and httpx."""
    body = _body(row.features)

    def governed() -> None:
        decision = service.predictions.predict(CLINICIAN, MODEL, PATIENT, "treatment", row.features)
        assert decision.released, decision.reasons

    def over_httpx() -> None:
        response = client.post("/v1/predictions", json=body)
        assert response.status_code == 200, response.text

    return {
        "governed, in-process": governed,
        "governed, over HTTP": lean.predict,
        "governed, over HTTP (httpx client)": over_httpx,
    }


def _measure_paths(
    service: TwinregService, row: _Row, rounds: int
) -> tuple[dict[str, list[float]], float]:
    """Each path's latencies (s), measured in interleaved blocks, and the explained
    predictions/s of one lean client over HTTP."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(service, 1) as base,
        httpx.Client(base_url=base, headers=_headers(service), timeout=30) as client,
    ):
        lean = LeanClient(base, _headers(service), _body(row.features))
        paths = {
            **_bare_paths(row, _raw_commit(Path(tmp) / "floor.db")),
            **_governed_paths(service, row, lean, client),
        }
        times: dict[str, list[float]] = {name: [] for name in paths}
        blocks = max(1, rounds // 50)  # interleaved: drift on the machine hits each alike
        for _ in range(blocks):
            for name, fn in paths.items():
                times[name] += _timings(fn, max(1, rounds // blocks), warmup=3)
        t0 = time.perf_counter()
        for _ in range(rounds):
            lean.predict()
        rps = rounds / (time.perf_counter() - t0)
        lean.close()
    return times, rps


def _print_latencies(console: Console, title: str, times: dict[str, list[float]]) -> None:
    table = Table(title=title)
    for col in ("path", "p50 ms", "p99 ms", "mean ms"):
        table.add_column(col, justify="right" if col != "path" else "left")
    for name, values in times.items():
        table.add_row(
            name,
            f"{_pct(values, 50):.3f}",
            f"{_pct(values, 99):.3f}",
            f"{statistics.fmean(values) * 1e3:.3f}",
        )
    console.print(table)


def _print_ratios(console: Console, t: dict[str, list[float]], rps: float) -> None:
    """The ratios of the p50s, against their targets, and the throughput of one client."""
    gov = _pct(t["governed, in-process"], 50)
    over_http = _pct(t["governed, over HTTP"], 50)
    console.print(
        f"governed / bare (p50):        {gov / _pct(t['bare (predict+TreeSHAP+commit)'], 50):.2f}x"
        " (target <= 1.5x)"
    )
    console.print(
        f"  against the single-threaded bare: "
        f"{gov / _pct(t['bare, single-threaded booster'], 50):.2f}x"
    )
    if BARE_RANGED in t:
        console.print(
            f"  against the single-threaded bare with the 90% range (the same work as the "
            f"governed path computes): {gov / _pct(t[BARE_RANGED], 50):.2f}x"
        )
    console.print(f"HTTP / in-process (p50):      {over_http / gov:.2f}x (target <= 1.3x)")
    console.print(
        f"  from an httpx client: {_pct(t['governed, over HTTP (httpx client)'], 50) / gov:.2f}x"
    )
    console.print(f"explained predictions/s over HTTP (1 client): {rps:.0f}")


def _print_load(console: Console, service: TwinregService, features: dict[str, float]) -> None:
    """The bounded load test: 4 clients for 8 s against 1 and 2 workers."""
    load = Table(title="load on loopback: 4 clients, 8 s per row")
    for col in ("workers", "requests", "predictions/s", "p50 ms", "p99 ms", "error rate"):
        load.add_column(col, justify="right")
    for workers in (1, 2):
        r = run_load(service, features, workers, clients=4, seconds=8)
        load.add_row(
            str(workers),
            str(int(r["requests"])),
            f"{r['rps']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['error_rate']:.4f}",
        )
    console.print(load)


def _headers(service: TwinregService) -> dict[str, str]:
    token = issue_token(service.token_key, CLINICIAN.user, "clinician", SITE, 3600)
    return {"Authorization": f"Bearer {token}"}


def _body(features: dict[str, float]) -> dict[str, object]:
    return {"model": MODEL, "patient_id": PATIENT, "purpose": "treatment", "features": features}


def run_load(
    service: TwinregService,
    features: dict[str, float],
    workers: int,
    clients: int,
    seconds: float,
    max_requests: int = 20_000,
) -> dict[str, float]:
    """Closed-loop load on loopback, bounded in time and count: throughput, p50, p99 and
    the error rate (anything but a released prediction counts as an error)."""
    body = _body(features)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    with server(service, workers) as base:
        stop = time.monotonic() + seconds

        def client() -> None:
            nonlocal errors
            lean = LeanClient(base, _headers(service), body)
            try:
                while time.monotonic() < stop:
                    t0 = time.perf_counter()
                    ok = lean.released()
                    elapsed = time.perf_counter() - t0
                    with lock:
                        latencies.append(elapsed)
                        errors += not ok
                        if len(latencies) >= max_requests:
                            return
            finally:
                lean.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    return {
        "workers": workers,
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50_ms": _pct(latencies, 50),
        "p99_ms": _pct(latencies, 99),
        "error_rate": errors / max(1, len(latencies)),
    }
