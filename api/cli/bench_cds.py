"""``twinreg bench --suite cds``: CDS Hooks cards over HTTP from a real server on loopback,
next to the same service calls in-process, measured side by side in interleaved blocks.

An EHR of the benchmark's own (a P-384 key made for the run, its JWK Set and issuer file
in a temporary folder) signs a fresh JWT per call (signed before the clock starts: the
EHR's work is not the server's). risk: ``patient-view`` for the demo's patient-001 with
its FHIR prefetch (Patient, Observations, Conditions of a WHAS500 row): JWT check, replay
cache write, FHIR parsing, the feature map, the governed explained prediction, the card.
dosing: ``order-select`` with a draft vancomycin order for the demo's patient-003: the
twin's recommendation over the grid (recorded in its thread), the card and its suggestion.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from rich.console import Console
from rich.table import Table

from api.cds.dosing import grid
from api.cli.bench import _pct
from api.cli.bench_http import server
from api.cli.demo import CLINICIAN, run_demo
from api.cli.demo_twin import PATIENT as TWIN_PATIENT
from api.cli.ehr import BASE, USER_ID, draft_order, issuer_files, risk_prefetch, token
from api.composition.service import TwinregService

RISK_MODEL = "whas500-mortality"
RISK_PATIENT = "patient-001"
TARGETS_MS = {"risk card over HTTP": 100.0, "dosing card over HTTP": 500.0}


def _twin_id(service: TwinregService) -> str:
    key = service.twins.patient(CLINICIAN, TWIN_PATIENT, "write", None)
    twins = [t for t in service.twins.bank.twins(key) if t.model == "vancomycin-auc"]
    if not twins:
        raise RuntimeError(f"the demo's {TWIN_PATIENT} has no vancomycin twin: run twinreg demo")
    return twins[-1].id


def _timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _caller(client: httpx.Client, key: ec.EllipticCurvePrivateKey, service_id: str,
            body: dict[str, Any]) -> Callable[[int], Callable[[], object]]:  # fmt: skip
    """For n calls: n JWTs signed now, then a call per token (the EHR's signing untimed)."""
    path = f"/cds-services/{service_id}"
    raw = json.dumps(body).encode()

    def prepare(n: int) -> Callable[[], object]:
        tokens = [token(key, path) for _ in range(n)]

        def call() -> object:
            headers = {"Authorization": f"Bearer {tokens.pop()}",
                       "Content-Type": "application/json"}  # fmt: skip
            response = client.post(path, content=raw, headers=headers)
            cards = response.json().get("cards") if response.status_code == 200 else None
            if not cards or ("suggestions" not in cards[0] and service_id != "risk"):
                raise RuntimeError(f"{service_id}: {response.status_code} {response.text[:300]}")
            return cards

        return call

    return prepare


def run_cds_bench(
    service: TwinregService, rounds: int, console: Console | None = None
) -> dict[str, dict[str, float]]:
    console = console or Console()
    if service.lifecycle.approved_version(RISK_MODEL) is None:
        run_demo(service, Console(quiet=True))
    state = service.lifecycle.approved_version(RISK_MODEL)
    assert state is not None
    loaded = service.registry.load(RISK_MODEL, state.version, state.artifact_sha256)
    features = {n: float(loaded.evaluation.iloc[0][n]) for n in state.card.feature_names}
    twin_id = _twin_id(service)
    dosing = service.policies.current().feature_codes.dosing
    assert dosing is not None
    key = ec.generate_private_key(ec.SECP384R1())
    risk_body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                 "context": {"userId": USER_ID, "patientId": RISK_PATIENT},
                 "prefetch": risk_prefetch(RISK_PATIENT, features)}  # fmt: skip
    dosing_body = {"hook": "order-select", "hookInstance": str(uuid.uuid4()),
                   "context": {"userId": USER_ID, "patientId": TWIN_PATIENT,
                               "selections": ["MedicationRequest/draft-1"],
                               "draftOrders": draft_order(TWIN_PATIENT)}}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        env = {"TWINREG_PUBLIC_BASE_URL": BASE, "TWINREG_CDS_RATE_LIMIT": "100000000",
               "TWINREG_CDS_ISSUERS": str(issuer_files(Path(tmp), key))}  # fmt: skip
        with server(service, 1, env) as base, httpx.Client(base_url=base, timeout=60) as client:
            risk_http = _caller(client, key, "risk", risk_body)
            dosing_http = _caller(client, key, "vancomycin-dosing", dosing_body)

            def risk_in_process(n: int) -> Callable[[], object]:
                return lambda: service.predictions.predict(
                    CLINICIAN, RISK_MODEL, RISK_PATIENT, "treatment", features
                )

            def dosing_in_process(n: int) -> Callable[[], object]:
                asked = grid(dosing)
                return lambda: service.twins.output(
                    CLINICIAN, TWIN_PATIENT, twin_id, "recommendation", asked
                )

            few = max(1, rounds // 10)
            paths: dict[str, tuple[Callable[[int], Callable[[], object]], int, list[float]]] = {
                "risk card over HTTP": (risk_http, rounds, []),
                "risk: the same prediction in-process": (risk_in_process, rounds, []),
                "dosing card over HTTP": (dosing_http, few, []),
                "dosing: the same recommendation in-process": (dosing_in_process, few, []),
            }
            for prepare, _, _ in paths.values():  # warm: the server's caches, the client's
                _timed(prepare(3), 3)
            blocks = 5
            for _ in range(blocks):
                for prepare, n, times in paths.values():
                    count = max(1, n // blocks)
                    times += _timed(prepare(count), count)
    return _report(console, {name: times for name, (_, _, times) in paths.items()})


def _report(console: Console, timings: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    table = Table(title="CDS Hooks cards: over HTTP (loopback, 1 worker) and in-process")
    for col in ("path", "calls", "p50 ms", "p99 ms", "mean ms", "target p50"):
        table.add_column(col, justify="left" if col == "path" else "right")
    out = {}
    for name, times in timings.items():
        target = TARGETS_MS.get(name)
        out[name] = {"p50_ms": _pct(times, 50), "p99_ms": _pct(times, 99)}
        table.add_row(name, str(len(times)), f"{_pct(times, 50):.1f}", f"{_pct(times, 99):.1f}",
                      f"{statistics.fmean(times) * 1e3:.1f}",
                      f"<= {target:g} ms" if target else "-")  # fmt: skip
    console.print(table)
    pairs = (
        ("risk card over HTTP", "risk: the same prediction in-process"),
        ("dosing card over HTTP", "dosing: the same recommendation in-process"),
    )
    for card, same in pairs:
        ratio = out[card]["p50_ms"] / out[same]["p50_ms"]
        console.print(f"{card} / {same} (p50): {ratio:.2f}x")
    return out
