"""Every audit record carries the policy version it was made under, and the chain records
each change of the version in force (``policy.change``) once, before the first record
written under it -- with several threads and several workers writing, some of them with a
stale view of the policies."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from governance.audit import chain as audit_log
from governance.audit.chain import AuditLog
from governance.audit.policy_stamp import POLICY_CHANGE, PolicyStamp
from governance.audit.verify import verify
from governance.errors import AuditWriteError
from governance.policy.store import PolicyStore
from governance.store.migrations import upgraded_engine

POLICIES = Path(__file__).resolve().parents[3] / "policies"
#: A worker that would not notice an edit by itself during a test.
NEVER = 3600.0


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, sqlite_url: str) -> Engine:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_engine")  # type: ignore[no-any-return]
    url: str = request.getfixturevalue("pg_schema_url")
    pg = upgraded_engine(url)
    request.addfinalizer(pg.dispose)
    return pg


@pytest.fixture()
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    return folder


def _edit(policies: Path, note: str) -> None:
    with (policies / "ethics.toml").open("a", encoding="utf-8") as f:
        f.write(f"\n# {note}\n")


def _version(store: PolicyStore) -> str:
    store.invalidate()
    return store.current().version


def _changes(log: AuditLog) -> list[tuple[str | None, str]]:
    return [(r["from"], r["to"]) for r in log.records(action=POLICY_CHANGE, limit=1000)]


def test_records_carry_their_version_and_each_change_is_recorded_once(
    engine: Engine, policies: Path
) -> None:
    store = PolicyStore(policies)
    v1 = store.current().version
    thread_a, thread_b = AuditLog(engine, PolicyStamp(store)), AuditLog(engine, PolicyStamp(store))
    thread_a.append("consent.grant", {"consent": "c-1"})
    thread_b.append("consent.grant", {"consent": "c-2"})
    _edit(policies, "first reviewed edit")
    v2 = _version(store)
    thread_b.append("consent.withdraw", {"consent": "c-1"})
    thread_a.append("audit.read", {"count": 3})
    # a decision begun under v1 and written after the change keeps its version, and does
    # not make the chain record a change back
    thread_a.append("prediction", {"decision": "released", "policy_version": v1})
    thread_b.append("prediction", {"decision": "released", "policy_version": v2})
    rows = [
        (r["action"], r["to"] if r["action"] == POLICY_CHANGE else r["policy_version"])
        for r in thread_a.records(limit=1000)
    ]
    assert rows == [
        (POLICY_CHANGE, v1),
        ("consent.grant", v1),
        ("consent.grant", v1),
        (POLICY_CHANGE, v2),
        ("consent.withdraw", v2),
        ("audit.read", v2),
        ("prediction", v1),
        ("prediction", v2),
    ]
    assert _changes(thread_a) == [(None, v1), (v1, v2)]
    assert verify(engine).ok


def test_unreadable_policies_are_recorded_as_none_and_are_no_change(
    engine: Engine, policies: Path
) -> None:
    store = PolicyStore(policies)
    log = AuditLog(engine, PolicyStamp(store))
    log.append("consent.grant", {"consent": "c-1"})
    (policies / "ethics.toml").write_text("purposes = [")
    store.invalidate()
    log.append("auth.refused", {"reason": "x"})
    log.append("prediction", {"decision": "withheld", "policy_version": None})
    assert [r["policy_version"] for r in log.records(limit=1000)][-2:] == [None, None]
    assert len(_changes(log)) == 1


def test_many_threads_across_a_change_record_it_once(engine: Engine, policies: Path) -> None:
    store = PolicyStore(policies)
    v1 = store.current().version
    logs = [AuditLog(engine, PolicyStamp(store)) for _ in range(3)]
    edited = threading.Event()
    errors: list[BaseException] = []

    def writer(log: AuditLog, n: int) -> None:
        try:
            for i in range(40):
                # a version sampled before the edit may be written after it
                version = store.current().version
                log.append("prediction", {"decision": "released", "policy_version": version})
                log.append("consent.grant", {"consent": f"{n}-{i}"})
                if n == 0 and i == 10:
                    _edit(policies, "edited while others write")
                    store.invalidate()
                    edited.set()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(logs[n % 3], n)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and edited.is_set()
    v2 = store.current().version
    assert _changes(logs[0]) == [(None, v1), (v1, v2)]
    assert verify(engine).ok


def test_a_stale_worker_never_records_a_change_back(engine: Engine, policies: Path) -> None:
    """Two workers, each with its own policy store that would not notice an edit by
    itself: the one that lags re-reads the files before recording anything."""
    first, second = PolicyStore(policies, NEVER), PolicyStore(policies, NEVER)
    worker_1, worker_2 = AuditLog(engine, PolicyStamp(first)), AuditLog(engine, PolicyStamp(second))
    v1 = first.current().version
    worker_1.append("consent.grant", {"consent": "c-1"})
    worker_2.append("consent.grant", {"consent": "c-2"})
    _edit(policies, "edited")
    v2 = _version(first)
    worker_1.append("consent.grant", {"consent": "c-3"})  # records v1 -> v2
    worker_2.append("consent.grant", {"consent": "c-4"})  # stale: re-reads, finds v2
    assert second.current().version == v2
    # a real reversal is recorded by the first worker to write under it
    (policies / "ethics.toml").write_text((POLICIES / "ethics.toml").read_text())
    assert _version(second) == v1
    worker_2.append("consent.grant", {"consent": "c-5"})  # records v2 -> v1
    worker_1.append("consent.grant", {"consent": "c-6"})  # stale v2: re-reads, finds v1
    assert _changes(worker_1) == [(None, v1), (v1, v2), (v2, v1)]
    # a record stamped by a lagging worker is stamped again once it has re-read the files:
    # it never contradicts the change just before it
    versions = [r["policy_version"] for r in worker_1.records(action="consent.grant")]
    assert versions == [v1, v1, v2, v2, v1, v1]
    assert first.current().version == v1


def test_an_edited_change_record_does_not_stop_the_writers(engine: Engine, policies: Path) -> None:
    store = PolicyStore(policies)
    AuditLog(engine, PolicyStamp(store)).append("consent.grant", {"consent": "c-1"})
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_record SET body = :b WHERE action = :a"),
            {"b": "{not json", "a": POLICY_CHANGE},
        )
    restarted = AuditLog(engine, PolicyStamp(store))  # a worker started after the edit
    restarted.append("consent.grant", {"consent": "c-2"})
    changes = restarted.records(action=POLICY_CHANGE, offset=1)
    assert [(r["from"], r["to"]) for r in changes] == [(None, store.current().version)]
    result = verify(engine)
    assert not result.ok and result.first_bad_seq == 1


def test_a_failed_write_leaves_no_trace_in_what_the_writer_knows(
    sqlite_engine: Engine, policies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PolicyStore(policies)
    log = AuditLog(sqlite_engine, PolicyStamp(store))
    v1 = store.current().version
    log.append("consent.grant", {"consent": "c-1"})
    _edit(policies, "edited")
    v2 = _version(store)
    real = audit_log._insert_row_sqlite

    def fail_the_record(cursor: Any, head: Any, action: str, *rest: Any) -> Any:
        if action == "consent.grant":
            raise OSError("disk full")
        return real(cursor, head, action, *rest)

    monkeypatch.setattr(audit_log, "_insert_row_sqlite", fail_the_record)
    with pytest.raises(AuditWriteError):
        log.append("consent.grant", {"consent": "c-2"})
    monkeypatch.setattr(audit_log, "_insert_row_sqlite", real)
    log.append("consent.grant", {"consent": "c-3"})
    assert _changes(log) == [(None, v1), (v1, v2)]
    assert [r["policy_version"] for r in log.records(action="consent.grant")] == [v1, v2]


def test_a_reversal_after_a_writer_could_not_read_its_policies_is_recorded(
    engine: Engine, policies: Path
) -> None:
    first, second = PolicyStore(policies, NEVER), PolicyStore(policies, NEVER)
    worker_1, worker_2 = AuditLog(engine, PolicyStamp(first)), AuditLog(engine, PolicyStamp(second))
    v1 = first.current().version
    worker_1.append("consent.grant", {"consent": "c-1"})
    original = (policies / "ethics.toml").read_text()
    _edit(policies, "edited")
    v2 = _version(second)
    worker_2.append("consent.grant", {"consent": "c-2"})  # records v1 -> v2
    (policies / "ethics.toml").write_text("purposes = [")
    first.invalidate()
    worker_1.append("auth.refused", {"reason": "x"})  # unreadable: no version, no change
    (policies / "ethics.toml").write_text(original)
    assert _version(first) == v1
    worker_1.append("consent.grant", {"consent": "c-3"})  # records v2 -> v1
    assert _changes(worker_1) == [(None, v1), (v1, v2), (v2, v1)]
