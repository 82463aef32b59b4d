"""Faults fail closed: an audit write that fails withholds the result; an unreachable
registry withholds, never falls back to another version."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from governance.audit.verify import verify
from governance.store.db import sqlite_write
from tests.api.helpers import features_of, prepare_patient, twin_named

M = "whas500-mortality"


def _body(demo_twins: list[Any]) -> dict[str, Any]:
    return {
        "model": M,
        "patient_id": "p-1",
        "purpose": "treatment",
        "features": features_of(twin_named(demo_twins, M)),
    }


def test_failed_audit_write_releases_nothing(api: Any, demo_twins: list[Any]) -> None:
    if api.service.engine.dialect.name != "sqlite":
        pytest.skip("read-only simulation uses SQLite's query_only pragma")
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    before = api.service.audit.count()

    def read_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = 1")

    event.listen(api.service.engine, "connect", read_only)
    api.service.engine.dispose()
    try:
        r = api.client.post("/v1/predictions", json=_body(demo_twins), headers=api.clinician)
    finally:
        event.remove(api.service.engine, "connect", read_only)
        api.service.engine.dispose()
    assert r.status_code == 503, r.text
    assert "contributions" not in r.text and "prediction" not in r.json()
    # what failed, not how (the database's error text and SQL stay in the server log)
    assert r.json()["detail"] == (
        "the audit log could not be written: nothing was released (the server log says why)"
    )
    assert api.service.audit.count() == before


def test_disk_full_releases_nothing(api: Any, demo_twins: list[Any]) -> None:
    if api.service.engine.dialect.name != "sqlite":
        pytest.skip("full disk is simulated with SQLite's max_page_count")
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    before = api.service.audit.count()

    def full(dbapi_connection: Any, _record: Any) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(api.service.engine, "connect", full)
    api.service.engine.dispose()
    try:
        for _ in range(30):  # fill the last free pages, then every write must fail
            r = api.client.post("/v1/predictions", json=_body(demo_twins), headers=api.clinician)
            if r.status_code != 200:
                break
    finally:
        event.remove(api.service.engine, "connect", full)
        api.service.engine.dispose()
    assert r.status_code == 503, r.text
    assert "contributions" not in r.text
    # what was stored before the disk filled is intact: the chain still verifies
    assert verify(api.service.engine).ok
    assert api.service.audit.count() >= before


def test_unreachable_artifacts_withhold_without_fallback(api: Any, demo_twins: list[Any]) -> None:
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    state = api.service.lifecycle.approved_version(M)
    artifacts = [p for p in Path(api.service.settings.artifact_root).rglob("model.ubj")]
    moved = []
    try:
        for path in artifacts:
            target = path.with_suffix(".moved")
            shutil.move(path, target)
            moved.append((target, path))
        r = api.client.post("/v1/predictions", json=_body(demo_twins), headers=api.clinician)
    finally:
        for target, path in moved:
            shutil.move(target, path)
    assert r.status_code == 403, r.text
    reason = r.json()["reasons"][0]
    assert reason["check"] == "approval"
    assert state is not None and state.version in reason["detail"]


def test_sqlite_commits_are_durable(service: Any) -> None:
    """Every connection of the serving engine runs WAL with ``synchronous=FULL``: a
    commit returns only once it is on disk. (The SIGKILL crash test cannot see this: a
    killed process loses nothing the OS already holds; only a power cut would.)"""
    if service.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's durability is the server's (synchronous_commit, fsync)")
    service.engine.dispose()  # fresh connections: the pragmas are set on connect
    full = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL
    with service.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        level = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        assert level == full, f"synchronous={level}: a commit may return before it is on disk"
    with sqlite_write(service.engine) as cursor:  # the audit log's hot path
        level = cursor.execute("PRAGMA synchronous").fetchone()[0]
        assert level == full, f"synchronous={level} on the audit log's write path"
