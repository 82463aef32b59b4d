"""A SQLite governance database locked by another process holds up only the requests that
must write to it (issue 13, finding 15).

Another process (a backup, a maintenance script, a stuck writer) holds SQLite's write lock.
Before the fix, a warm prediction committed its audit record on the event loop, so the
worker waited up to the 30 s busy timeout there, and ``/health`` and every other request
of the worker waited with it; error answers that write a refusal record did the same. Now
nothing on the event loop waits for the lock: the writers wait on worker threads and are
answered, and recorded, once the lock is released.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from api.composition.settings import Settings
from api.composition.tokens import issue_token
from governance.audit.verify import verify
from tests.api.helpers import features_of, twin_named
from tests.conftest import BACKEND
from tests.security.workers import worker

M = "whas500-mortality"
CATS = ["demographics", "vitals", "history"]

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite", reason="SQLite's write lock: the scale path has no file lock"
)


def _post_later(
    base: str, path: str, headers: dict[str, str], body: Any, out: list[httpx.Response]
) -> threading.Thread:
    def send() -> None:
        out.append(httpx.post(base + path, json=body, headers=headers, timeout=60))

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_a_locked_database_holds_up_only_its_writers(
    settings: Settings, service: Any, demo_twins: list[Any]
) -> None:
    key = service.token_key
    clin = {"Authorization": "Bearer " + issue_token(key, "carla", "clinician", "st-mary", 600)}
    features = features_of(twin_named(demo_twins, M))
    body = {"model": M, "patient_id": "lk-1", "purpose": "treatment", "features": features}
    path = make_url(settings.governance_url).database
    assert path
    service.engine.dispose()
    with worker(settings) as base:
        assert httpx.put(f"{base}/v1/patients/lk-1", json={"site": "st-mary"}, headers=clin)
        r = httpx.post(
            f"{base}/v1/patients/lk-1/consents",
            headers=clin,
            json={"purpose": "treatment", "data_categories": CATS},
        )
        assert r.status_code == 201, r.text
        # the twin is loaded: the next prediction is decided on the event loop
        warm = httpx.post(f"{base}/v1/predictions", json=body, headers=clin, timeout=120)
        assert warm.status_code == 200, warm.text
        before = service.audit.count()

        holder = sqlite3.connect(path, isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")  # another process's write lock
        answers: list[httpx.Response] = []
        pending: list[threading.Thread] = []
        try:
            # a warm prediction, a bad body (its refusal is recorded by the error answer)
            # and a bad token (recorded by the authentication middleware)
            pending.append(_post_later(base, "/v1/predictions", clin, body, answers))
            bad = {**body, "features": "not an object"}
            pending.append(_post_later(base, "/v1/predictions", clin, bad, answers))
            wrong = {"Authorization": "Bearer not-a-token"}
            pending.append(_post_later(base, "/v1/predictions", wrong, body, answers))
            # while they wait for the lock, the worker still answers: several times over,
            # so that the writers have surely arrived
            for _ in range(5):
                health = httpx.get(f"{base}/health", timeout=20)
                assert health.status_code == 200, health.text
            assert answers == [], "a write went through while the lock was held"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        for thread in pending:
            thread.join(timeout=60)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 400, 401], [a.text for a in answers]
        assert all(a.json().get("audit_id") for a in answers if a.status_code != 401)
    # each answer was recorded once: the prediction, the refused body, the refused token
    records = service.audit.records(limit=100, offset=before)
    actions = sorted(r["action"] for r in records)
    assert actions == ["auth.refused", "prediction", "prediction.refused"], actions
    assert verify(service.engine).ok
