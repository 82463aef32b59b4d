"""Crash test: a real server under load is killed with SIGKILL at random moments.

A uvicorn process serves the app (settings from the environment, as in production) while
a client thread drives explained predictions, consent grants and consent withdrawals.
The main thread kills the server with SIGKILL at seeded random moments and restarts it,
``KILLS`` times or until ``BUDGET_S`` seconds have passed. Afterwards:

- every decision the client received (200 released, 403 withheld) has its audit record;
- every consent the client was told about (201) exists, with its ``consent.grant`` record,
  and every withdrawal it was told about (200) is stored, with its ``consent.withdraw``;
- nothing partial: every consent row has its grant record, every withdrawn row its
  withdrawal record (a change and its audit record commit together or not at all);
- no response was a server error;
- the audit chain verifies, and SQLite's ``PRAGMA integrity_check`` says ``ok``.

Works on both backends (the governance URL comes from the ``settings`` fixture); the
integrity check is SQLite's own and runs only there.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from api.cli.demo import CLINICIAN, SITE
from api.composition.settings import Settings
from api.composition.tokens import issue_token
from governance.audit.verify import verify
from tests.api.helpers import features_of, twin_named

REPO = Path(__file__).resolve().parents[2]
SEED = 20261123
KILLS = 5
#: Wall time for the kill/restart loop (server start-up is most of it).
BUDGET_S = 60.0
STARTUP_TIMEOUT_S = 60.0
PATIENTS = [f"crash-{i}" for i in range(4)]
CATEGORIES = ["demographics", "vitals", "history"]
M = "whas500-mortality"


@dataclass
class Observed:
    """What the client was told, per kind of request."""

    decisions: list[tuple[int, str]] = field(default_factory=list)  # (status, audit_id)
    granted: list[str] = field(default_factory=list)  # consent ids answered 201
    withdrawn: list[str] = field(default_factory=list)  # consent ids answered 200
    server_errors: list[str] = field(default_factory=list)
    lost: int = 0  # requests cut off by a kill (no response: no promise)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            **os.environ,
            "TWINREG_HOME": str(settings.home),
            "TWINREG_GOVERNANCE_URL": settings.governance_url,
            "TWINREG_TRACKING_URI": settings.tracking_uri,
            "TWINREG_ARTIFACT_ROOT": settings.artifact_root,
            "TWINREG_POLICIES": str(settings.policies_dir),
            "TWINREG_RATE_LIMIT": "1000000",
            "TWINREG_WARM_UP": "0",
            "PYTHONPATH": str(REPO),
        }
        self.env.pop("TWINREG_REDIS_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "api.http.asgi:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited at start:\n{self._tail()}")
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not healthy after {STARTUP_TIMEOUT_S}s:\n{self._tail()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


class Client(threading.Thread):
    """Drives the server until stopped; records only the answers it actually received."""

    def __init__(self, base: str, token: str, features: list[dict[str, float]]) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.features = features
        self.stop = threading.Event()
        self.seen = Observed()
        self.rng = random.Random(SEED + 1)
        self.active: dict[str, list[str]] = {p: [] for p in PATIENTS}  # live consent ids

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=15) as http:
            while not self.stop.is_set():
                try:
                    self._one(http)
                except (httpx.TransportError, ConnectionError):
                    self.seen.lost += 1  # killed mid-request, or down while restarting
                    time.sleep(0.05)

    def _one(self, http: httpx.Client) -> None:
        patient = self.rng.choice(PATIENTS)
        roll = self.rng.random()
        if roll < 0.15:
            r = http.post(
                f"/v1/patients/{patient}/consents",
                json={"purpose": "treatment", "data_categories": CATEGORIES},
            )
            self._note_5xx(r)
            if r.status_code == 201:
                consent = r.json()["id"]
                self.seen.granted.append(consent)
                self.active[patient].append(consent)
        elif roll < 0.25 and self.active[patient]:
            consent = self.active[patient].pop(0)
            r = http.post(f"/v1/patients/{patient}/consents/{consent}/withdraw")
            self._note_5xx(r)
            if r.status_code == 200:
                assert r.json()["withdrawn_at"] is not None, r.text
                self.seen.withdrawn.append(consent)
        else:
            body = {
                "model": M,
                "patient_id": patient,
                "purpose": "treatment",
                "features": self.rng.choice(self.features),
            }
            r = http.post("/v1/predictions", json=body)
            self._note_5xx(r)
            if r.status_code in (200, 403):
                self.seen.decisions.append((r.status_code, r.json()["audit_id"]))

    def _note_5xx(self, r: httpx.Response) -> None:
        if r.status_code >= 500:
            self.seen.server_errors.append(f"{r.request.method} {r.request.url}: {r.text[:300]}")


def _prepare(server: Server, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for patient in PATIENTS:
        r = httpx.put(f"{server.base}/v1/patients/{patient}", json={"site": SITE}, headers=headers)
        assert r.status_code == 200, r.text


def test_sigkill_loses_no_promised_record(
    settings: Settings, demo_twins: list[Any], tmp_path: Path
) -> None:
    key = bytes.fromhex(json.loads(settings.secrets_file.read_text())["token_key"])
    token = issue_token(key, CLINICIAN.user, "clinician", SITE, 3600)
    twin = twin_named(demo_twins, M)
    features = [features_of(twin, i) for i in range(8)]
    rng = random.Random(SEED)
    server = Server(settings, tmp_path / "server.log")
    client: Client | None = None
    kills = 0
    try:
        server.start()
        _prepare(server, token)
        client = Client(server.base, token, features)
        client.start()
        deadline = time.monotonic() + BUDGET_S
        while kills < KILLS and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 2.0))  # load, then a kill at a random moment
            server.kill()
            kills += 1
            server.start()
        time.sleep(0.5)  # a little load on the last incarnation too
    finally:
        if client is not None:
            client.stop.set()
            client.join(timeout=30)
        server.kill()
    assert client is not None
    seen = client.seen
    assert kills >= 2, f"only {kills} kills fitted in {BUDGET_S}s"
    assert seen.decisions, "the client received no decision at all"
    assert not seen.server_errors, "\n".join(seen.server_errors)

    engine = create_engine(settings.governance_url)
    try:
        with engine.connect() as conn:
            audit = {
                row.record_id: (row.action, row.body)
                for row in conn.execute(text("SELECT record_id, action, body FROM audit_record"))
            }
            consents = {
                row.id: row.withdrawn_at
                for row in conn.execute(text("SELECT id, withdrawn_at FROM consent"))
            }
            integrity = (
                conn.execute(text("PRAGMA integrity_check")).scalar()
                if engine.dialect.name == "sqlite"
                else "ok"
            )
        result = verify(engine)
    finally:
        engine.dispose()

    def consent_ids(action: str) -> set[str]:
        return {
            json.loads(body)["payload"]["consent_id"]
            for act, body in audit.values()
            if act == action
        }

    grants, withdrawals = consent_ids("consent.grant"), consent_ids("consent.withdraw")
    missing = [(status, a) for status, a in seen.decisions if a not in audit]
    assert not missing, f"decisions answered without an audit record: {missing[:5]}"
    assert set(seen.granted) <= set(consents), "a consent answered 201 was not stored"
    assert set(seen.granted) <= grants, "a consent answered 201 has no consent.grant record"
    assert all(consents[c] is not None for c in seen.withdrawn), "a withdrawal was lost"
    assert set(seen.withdrawn) <= withdrawals, "a withdrawal has no consent.withdraw record"
    assert set(consents) <= grants, "partial write: a consent row without its grant record"
    withdrawn_rows = {c for c, at in consents.items() if at is not None}
    assert withdrawn_rows <= withdrawals, "partial write: a withdrawal without its record"
    assert result.ok, result.message
    assert integrity == "ok", integrity
    print(
        f"\ncrash test: {kills} kills, {server.starts} starts, {len(seen.decisions)} decisions "
        f"({sum(1 for s, _ in seen.decisions if s == 200)} released), {len(seen.granted)} "
        f"grants, {len(seen.withdrawn)} withdrawals, {seen.lost} requests cut off, "
        f"{result.count} audit records verified"
    )
