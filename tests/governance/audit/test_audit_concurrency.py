"""Concurrent writers — threads sharing an engine, and separate engines — never fork."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import Engine

from governance.audit.chain import AuditEntry, AuditLog
from governance.audit.verify import verify
from governance.store.migrations import upgraded_engine
from tests.governance import audit_tamper as tamper

THREADS = 6
PER_THREAD = 25


def hammer(logs: list[AuditLog]) -> list[AuditEntry]:
    """THREADS threads per log, each appending PER_THREAD records; all must succeed."""
    entries: list[AuditEntry] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS * len(logs))

    def work(log: AuditLog, worker: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                entry = log.append("predict", {"worker": worker, "i": i})
                with lock:
                    entries.append(entry)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(log, n * THREADS + k))
        for n, log in enumerate(logs)
        for k in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return entries


def assert_one_chain(engine: Engine, entries: list[AuditEntry], total: int) -> None:
    assert sorted(e.seq for e in entries) == list(range(1, total + 1))
    assert len({e.hash for e in entries}) == total
    result = verify(engine)
    assert result.ok, result.message
    assert result.count == total
    log = AuditLog(engine)
    assert log.count() == total
    # Every record's stored prev_hash is its predecessor's hash: one line, no branches.
    records = log.records(limit=total)
    for before, after in itertools.pairwise(records):
        assert after["prev_hash"] == before["hash"]


def test_threads_sharing_a_sqlite_engine(sqlite_engine: Engine) -> None:
    entries = hammer([AuditLog(sqlite_engine)])
    assert_one_chain(sqlite_engine, entries, THREADS * PER_THREAD)


def test_two_sqlite_engines_on_one_file(sqlite_url: str) -> None:
    engines = [upgraded_engine(sqlite_url), upgraded_engine(sqlite_url)]
    try:
        entries = hammer([AuditLog(e) for e in engines])
        assert_one_chain(engines[0], entries, 2 * THREADS * PER_THREAD)
    finally:
        for e in engines:
            e.dispose()


@pytest.fixture()
def pg_engines(pg_schema_url: str) -> list[Engine]:
    engines = [upgraded_engine(pg_schema_url), upgraded_engine(pg_schema_url)]
    yield engines  # type: ignore[misc]
    for e in engines:
        e.dispose()


def test_two_postgresql_engines(pg_engines: list[Engine]) -> None:
    entries = hammer([AuditLog(e) for e in pg_engines])
    assert_one_chain(pg_engines[1], entries, 2 * THREADS * PER_THREAD)


def test_postgresql_chain_catches_tampering(pg_engines: list[Engine]) -> None:
    engine = pg_engines[0]
    log = AuditLog(engine)
    for i in range(8):
        log.append("predict", {"i": i, "x": i / 3})
    assert verify(engine).ok
    assert [r["seq"] for r in log.records(action="predict", limit=3, offset=2)] == [3, 4, 5]
    tamper.edit_body(engine, 5)
    assert verify(engine).first_bad_seq == 5
    tamper.delete(engine, 3)
    assert verify(engine).first_bad_seq == 3


def test_postgresql_append_in_the_callers_transaction(pg_engines: list[Engine]) -> None:
    engine = pg_engines[0]
    log = AuditLog(engine)
    with engine.begin() as conn:
        log.append("token.revoke", {"jti": "a"}, conn=conn)
        log.append("token.revoke", {"jti": "b"}, conn=conn)
    assert log.head()[0] == 2 and verify(engine).ok
