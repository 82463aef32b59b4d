"""The server's checkpoint writer: by record count and by time, on its own thread, once
more on a graceful stop; several writers (threads, processes) sharing one file; never a
signature on a chain that contradicts the latest checkpoint."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from governance.audit.chain import AuditLog
from governance.audit.checkpoint_writer import CheckpointWriter
from governance.audit.checkpoints import read_checkpoint_file, verify_with
from governance.audit.signing import CheckpointSigner
from governance.errors import AuditChainBroken
from governance.store.migrations import upgraded_engine
from tests.conftest import BACKEND, REPO
from tests.governance import audit_tamper as tamper

#: How long a test waits for the writer's thread to do what it must (never a timing
#: assertion: the test fails only when the thing never happens within this bound).
PATIENCE = 30.0


@pytest.fixture()
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if BACKEND == "postgresql":
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path / 'governance.db'}"


@pytest.fixture()
def engine(url: str) -> Iterator[Engine]:
    made = upgraded_engine(url)
    yield made
    made.dispose()


def counts(path: Path, signer: CheckpointSigner) -> list[int]:
    file = read_checkpoint_file(path, [signer.public_key])
    assert file.rejected == []
    return [c.count for c in file.checkpoints]


def eventually(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {PATIENCE} s")
        time.sleep(0.02)


def fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append("predict", {"i": i})


def test_the_thread_signs_each_time_the_records_cross_the_count(
    engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    path = tmp_path / "cp.jsonl"
    writer = CheckpointWriter(engine, path, signer, every_records=5, every_seconds=3600)
    log = AuditLog(engine, after_append=writer.appended)
    writer.start()
    try:
        for n in (5, 10, 15, 20):
            fill(log, 5)
            eventually(f"a checkpoint of {n} records", lambda n=n: n in counts(path, signer))
        fill(log, 3)  # fewer than 5: the hour has not passed either
    finally:
        writer.stop()
    # the graceful stop signed the head once more
    assert counts(path, signer) == [5, 10, 15, 20, 23]
    assert verify_with(engine, read_checkpoint_file(path, [signer.public_key])).covered == 23
    assert writer.state().startswith("seq 1..23 signed at ")


def test_the_thread_signs_when_the_period_passes(
    engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    path = tmp_path / "cp.jsonl"
    writer = CheckpointWriter(engine, path, signer, every_records=1000, every_seconds=0.2)
    log = AuditLog(engine, after_append=writer.appended)
    fill(log, 2)
    writer.start()
    try:
        eventually("a checkpoint after the period", lambda: counts(path, signer) == [2])
        fill(log, 1)
        eventually("the next one", lambda: counts(path, signer) == [2, 3])
    finally:
        writer.stop()
    assert counts(path, signer) == [2, 3]  # nothing moved since: the stop adds none


def test_what_is_due(engine: Engine, tmp_path: Path, signer: CheckpointSigner) -> None:
    path = tmp_path / "cp.jsonl"
    writer = CheckpointWriter(engine, path, signer, every_records=5, every_seconds=3600)
    log = AuditLog(engine)
    assert writer.run_once(final=True) is None  # an empty chain: nothing to sign
    fill(log, 4)
    assert writer.run_once() is None
    fill(log, 1)
    assert writer.run_once() is not None
    assert writer.run_once() is None and writer.run_once(final=True) is None  # idle
    fill(log, 1)
    assert writer.run_once() is None
    assert writer.run_once(final=True) is not None
    assert counts(path, signer) == [5, 6]
    # the period: due as soon as the latest checkpoint is that old and records wait
    fill(log, 1)
    aged = CheckpointWriter(engine, path, signer, every_records=5, every_seconds=1e-6)
    cp = aged.run_once()
    assert cp is not None and cp.count == 7
    with pytest.raises(ValueError):
        CheckpointWriter(engine, path, signer, every_records=0)


def test_two_writers_sharing_a_file_sign_each_moment_once(
    url: str, engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    """Two workers (each its own engine and writer, one key, one file): whoever takes the
    file's lock first signs; the other sees its line and signs nothing twice."""
    other_engine = upgraded_engine(url)
    try:
        path = tmp_path / "cp.jsonl"
        first = CheckpointWriter(engine, path, signer, every_records=5, every_seconds=3600)
        second = CheckpointWriter(other_engine, path, signer, every_records=5, every_seconds=3600)
        fill(AuditLog(engine, after_append=first.appended), 3)
        fill(AuditLog(other_engine, after_append=second.appended), 3)
        assert first.run_once() is not None
        assert second.run_once() is None  # the head is 6, the file's latest 6
        fill(AuditLog(other_engine, after_append=second.appended), 5)
        assert second.run_once() is not None
        assert first.run_once() is None
        assert counts(path, signer) == [6, 11]
    finally:
        other_engine.dispose()


_PROCESS = """
import sys
from pathlib import Path
from governance.audit.chain import AuditLog
from governance.audit.checkpoints import write_checkpoint
from governance.audit.signing import CheckpointSigner
from governance.store.migrations import upgraded_engine

url, path, pem, rounds = sys.argv[1], Path(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4])
engine = upgraded_engine(url)
signer = CheckpointSigner.from_pem(pem)
log = AuditLog(engine)
for i in range(rounds):
    log.append("predict", {"i": i})
    write_checkpoint(engine, path, signer)
"""


def test_processes_appending_checkpoints_at_once_keep_every_line_whole(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    pem = CheckpointSigner.new_pem()
    signer = CheckpointSigner.from_pem(pem)
    path = tmp_path / "cp.jsonl"
    rounds = 60
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS, url, str(path), pem.decode(), str(rounds)],
            cwd=REPO,
        )
        for _ in range(3)
    ]
    assert [w.wait(timeout=300) for w in workers] == [0, 0, 0]
    found = counts(path, signer)  # every line whole and signed
    assert len(found) == 3 * rounds
    assert max(found) == 3 * rounds == AuditLog(engine).head()[0]
    result = verify_with(engine, read_checkpoint_file(path, [signer.public_key]))
    assert result.ok and result.covered == 3 * rounds, result.message


def test_a_chain_that_contradicts_the_latest_checkpoint_is_never_signed(
    engine: Engine,
    tmp_path: Path,
    signer: CheckpointSigner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "cp.jsonl"
    writer = CheckpointWriter(engine, path, signer, every_records=5, every_seconds=3600)
    log = AuditLog(engine, after_append=writer.appended)
    fill(log, 10)
    assert writer.run_once() is not None
    tamper.truncate_from(engine, 8)
    fill(log, 10)  # back past the checkpoint's count: a laundering signature would hide it
    with pytest.raises(AuditChainBroken, match="record seq=10 has hash"):
        writer.run_once()
    # on the thread: logged, shown by the state, and still nothing signed
    writer.start()
    try:
        with caplog.at_level(logging.ERROR, logger="twinreg.audit.checkpoints"):
            fill(log, 5)
            eventually("the failure logged", lambda: "no checkpoint is signed" in caplog.text)
    finally:
        writer.stop()
    assert writer.state().startswith("failing since ")
    assert counts(path, signer) == [10]
    result = verify_with(engine, read_checkpoint_file(path, [signer.public_key]))
    assert not result.ok and result.first_bad_seq == 10, result.message
    assert "rewritten" in result.message


def test_a_writer_waits_for_the_file_lock(
    engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    """Another process holding the checkpoints file's lock (reading the latest checkpoint,
    about to append its own) keeps this writer out until it is done."""
    import fcntl
    import threading

    path = tmp_path / "cp.jsonl"
    fill(AuditLog(engine), 2)
    writer = CheckpointWriter(engine, path, signer, every_records=1, every_seconds=3600)
    with path.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        attempt = threading.Thread(target=writer.run_once)
        attempt.start()
        attempt.join(1.0)
        assert attempt.is_alive() and path.read_text() == ""  # waiting, nothing written
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    attempt.join(PATIENCE)
    assert counts(path, signer) == [2]
