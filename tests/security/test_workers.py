"""Two API worker processes on one governance database (PostgreSQL on the scale path):
concurrent predictions, consent withdrawals and lifecycle changes from many clients. The
audit chain never forks, and a change made through one worker binds the other on its
next request."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from api.composition.settings import Settings
from api.composition.tokens import issue_token
from governance.audit.verify import verify
from governance.store.db import make_engine
from tests.api.helpers import features_of, twin_named
from tests.security.workers import worker

M = "whas500-mortality"
CATS = ["demographics", "vitals", "history"]


def test_two_workers(settings: Settings, service: Any, demo_twins: list[Any]) -> None:
    key = service.token_key
    clin = {"Authorization": "Bearer " + issue_token(key, "carla", "clinician", "st-mary", 600)}
    eth = {"Authorization": "Bearer " + issue_token(key, "erin", "ethics_board", None, 600)}
    features = features_of(twin_named(demo_twins, M))
    service.engine.dispose()
    with worker(settings) as a, worker(settings) as b:
        consents: dict[str, str] = {}
        for i in range(6):
            patient = f"w-{i}"
            assert (
                httpx.put(
                    f"{a}/v1/patients/{patient}", json={"site": "st-mary"}, headers=clin
                ).status_code
                == 200
            )
            r = httpx.post(
                f"{b}/v1/patients/{patient}/consents",
                headers=clin,
                json={"purpose": "treatment", "data_categories": CATS},
            )
            assert r.status_code == 201, r.text
            consents[patient] = r.json()["id"]
        received: list[tuple[int, str]] = []
        errors: list[str] = []
        stop = time.monotonic() + 8

        def client(base: str, patient: str) -> None:
            with httpx.Client(base_url=base, headers=clin, timeout=30) as c:
                for _ in range(40):
                    if time.monotonic() > stop:
                        return
                    r = c.post(
                        "/v1/predictions",
                        json={
                            "model": M,
                            "patient_id": patient,
                            "purpose": "treatment",
                            "features": features,
                        },
                    )
                    if r.status_code not in (200, 403):
                        errors.append(r.text)
                    else:
                        received.append((r.status_code, r.json()["audit_id"]))

        threads = [
            threading.Thread(target=client, args=(base, f"w-{i}"))
            for i, base in enumerate([a, b] * 3)
        ]
        for t in threads:
            t.start()
        # meanwhile: withdraw one consent through worker A
        r = httpx.post(f"{a}/v1/patients/w-0/consents/{consents['w-0']}/withdraw", headers=clin)
        assert r.status_code == 200, r.text
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors[:3]
        # a withdrawal through A binds B on its next request
        r = httpx.post(
            f"{b}/v1/predictions",
            headers=clin,
            json={"model": M, "patient_id": "w-0", "purpose": "treatment", "features": features},
        )
        assert r.status_code == 403 and r.json()["reasons"][0]["check"] == "consent"
        # a suspension through B binds A on its next request, and reinstatement too
        v = f"/v1/models/{M}/versions/1"
        assert (
            httpx.post(f"{b}{v}/suspend", json={"comment": "workers"}, headers=eth).status_code
            == 200
        )
        body = {"model": M, "patient_id": "w-1", "purpose": "treatment", "features": features}
        r = httpx.post(f"{a}/v1/predictions", headers=clin, json=body)
        assert r.status_code == 403 and r.json()["reasons"][0]["check"] == "approval"
        assert (
            httpx.post(f"{a}{v}/reinstate", json={"comment": "workers"}, headers=eth).status_code
            == 200
        )
        assert httpx.post(f"{b}/v1/predictions", headers=clin, json=body).status_code == 200
    engine = make_engine(settings.governance_url)
    try:
        result = verify(engine)
        assert result.ok, result.message
        ids = {r["record_id"] for r in service.audit.records(limit=100_000)}
        missing = [audit_id for _, audit_id in received if audit_id not in ids]
        assert not missing and received
    finally:
        engine.dispose()
