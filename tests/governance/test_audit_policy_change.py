"""Every audit record carries the policy version it was made under, and the chain records
each change of version (``policy.change``) once, before the first record made under it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from governance.audit_log import POLICY_CHANGE, AuditLog, verify
from governance.db import make_engine
from governance.policy import PolicyStore

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture()
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    return folder


def _edit(policies: Path, store: PolicyStore, note: str) -> str:
    with (policies / "ethics.toml").open("a", encoding="utf-8") as f:
        f.write(f"\n# {note}\n")
    store.invalidate()
    return store.current().version


def _changes_and_versions(log: AuditLog) -> list[tuple[str, object]]:
    return [
        (r["action"], r["to"] if r["action"] == POLICY_CHANGE else r["policy_version"])
        for r in log.records(limit=1000)
    ]


def _check(engine: Engine, policies: Path) -> None:
    store = PolicyStore(policies)
    v1 = store.current().version
    # two workers on one database, each with its own log and its own view of the version
    worker_a = AuditLog(engine, policy_version=lambda: store.current().version)
    worker_b = AuditLog(engine, policy_version=lambda: store.current().version)
    worker_a.append("consent.grant", {"consent": "c-1"})
    worker_b.append("consent.grant", {"consent": "c-2"})
    v2 = _edit(policies, store, "first reviewed edit")
    worker_b.append("consent.withdraw", {"consent": "c-1"})
    worker_a.append("audit.read", {"count": 3})
    # a record that says which version it was decided under keeps it
    worker_a.append("prediction", {"decision": "released", "policy_version": v2})
    assert _changes_and_versions(worker_a) == [
        (POLICY_CHANGE, v1),
        ("consent.grant", v1),
        ("consent.grant", v1),
        (POLICY_CHANGE, v2),
        ("consent.withdraw", v2),
        ("audit.read", v2),
        ("prediction", v2),
    ]
    records = worker_a.records(action=POLICY_CHANGE)
    assert [(r["from"], r["to"]) for r in records] == [(None, v1), (v1, v2)]
    assert verify(engine).ok
    # broken policies: records say so (no version) and no change is recorded for them
    (policies / "ethics.toml").write_text("purposes = [")
    store.invalidate()
    worker_a.append("auth.refused", {"reason": "x"})
    assert worker_a.records(limit=1000)[-1]["policy_version"] is None
    assert len(worker_a.records(action=POLICY_CHANGE)) == 2


def test_policy_changes_are_recorded_once_on_sqlite(sqlite_engine: Engine, policies: Path) -> None:
    _check(sqlite_engine, policies)


def test_policy_changes_are_recorded_once_on_postgresql(pg_schema_url: str, policies: Path) -> None:
    engine = make_engine(pg_schema_url)
    try:
        _check(engine, policies)
    finally:
        engine.dispose()
