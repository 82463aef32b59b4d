"""Signed checkpoints: the exact line and message, lines that are not evidence, and each
tamper case caught once a checkpoint the server signed covers it."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine

from governance.audit.chain import AuditLog
from governance.audit.checkpoint_writer import CheckpointWriter
from governance.audit.checkpoints import (
    read_checkpoint_file,
    signed_line,
    verify_with,
    write_checkpoint,
)
from governance.audit.signing import CheckpointKey, CheckpointSigner
from governance.audit.verify import Checkpoint, verify
from governance.canonical import canonical_json
from governance.clock import utcnow
from governance.store.migrations import upgraded_engine
from tests.conftest import BACKEND
from tests.governance import audit_tamper as tamper


@pytest.fixture()
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The governance database of the pass: SQLite, or a fresh PostgreSQL schema."""
    url = (
        request.getfixturevalue("pg_schema_url")
        if BACKEND == "postgresql"
        else f"sqlite:///{tmp_path / 'governance.db'}"
    )
    made = upgraded_engine(url)
    yield made
    made.dispose()


def fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append("predict", {"i": i, "score": i / 7})


def test_a_checkpoint_line_is_exactly_the_documented_one(
    engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    log = AuditLog(engine)
    fill(log, 3)
    path = tmp_path / "cp.jsonl"
    cp = write_checkpoint(engine, path, signer)
    assert (cp.count, cp.hash) == log.head()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    line = json.loads(raw)
    assert sorted(line) == ["at", "count", "hash", "key_id", "signature"]
    assert raw[:-1].decode() == canonical_json(line)
    # the message and key id as docs/audit-format.md gives them, checked with the
    # cryptography library directly
    message = f"twinreg-audit-checkpoint/v1\n{cp.count}\n{cp.hash}\n{line['at']}\n".encode()
    pem = signer.public_key.pem().encode()
    public = serialization.load_pem_public_key(pem)
    assert isinstance(public, Ed25519PublicKey)
    public.verify(bytes.fromhex(line["signature"]), message)
    raw_key = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert line["key_id"] == hashlib.sha256(raw_key).hexdigest()[:16] == signer.key_id
    file = read_checkpoint_file(path, [CheckpointKey.from_pem(pem)])
    assert file.rejected == [] and [(c.count, c.hash) for c in file.checkpoints] == [log.head()]


def _edited(line: str, **changes: object) -> str:
    data = json.loads(line)
    data.update(changes)
    return canonical_json({k: v for k, v in data.items() if v is not None})


def _not_evidence(good: str, signer: CheckpointSigner) -> dict[str, tuple[str, str]]:
    """Each kind of line that is not evidence: (line, what the finding says)."""
    other = CheckpointSigner.from_pem(CheckpointSigner.new_pem())
    data = json.loads(good)
    by_other = signed_line(Checkpoint(data["count"], data["hash"], _at(data["at"])), other)
    forged = _edited(by_other, key_id=signer.key_id)  # another key's signature, our key id
    return {
        "unsigned": (_edited(good, key_id=None, signature=None), "without a signature"),
        "count edited": (_edited(good, count=data["count"] + 1), "does not verify"),
        "hash edited": (_edited(good, hash="f" * 64), "does not verify"),
        "time edited": (_edited(good, at="2030-01-01T00:00:00.000000Z"), "does not verify"),
        "another key": (by_other, f"signed by key '{other.key_id}', which is not trusted"),
        "forged key id": (forged, "does not verify"),
        "signature garbage": (_edited(good, signature="zz"), "does not verify"),
        "signature short": (_edited(good, signature="ab" * 63), "does not verify"),
        "extra field": (_edited(good, note="hi"), "unexpected fields ['note']"),
        "not json": ('{"count": 3, "ha', "malformed checkpoint"),
        "hash not hex": (_edited(good, hash="G" * 64), "malformed checkpoint"),
        "time not canonical": (_edited(good, at="2026-01-01T00:00:00Z"), "malformed"),
    }


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    "kind",
    [
        "unsigned",
        "count edited",
        "hash edited",
        "time edited",
        "another key",
        "forged key id",
        "signature garbage",
        "signature short",
        "extra field",
        "not json",
        "hash not hex",
        "time not canonical",
    ],
)
def test_a_checkpoint_that_is_not_evidence_is_a_finding_and_hides_nothing(
    engine: Engine, tmp_path: Path, signer: CheckpointSigner, kind: str
) -> None:
    log = AuditLog(engine)
    fill(log, 6)
    path = tmp_path / "cp.jsonl"
    write_checkpoint(engine, path, signer)
    good = path.read_text().splitlines()[0]
    bad, says = _not_evidence(good, signer)[kind]
    with path.open("a") as fh:
        fh.write(bad + "\n")
    keys = [signer.public_key]
    file = read_checkpoint_file(path, keys)
    assert [c.count for c in file.checkpoints] == [6]  # the good line is still evidence
    assert len(file.rejected) == 1 and file.rejected[0].startswith(f"{path}:2: ")
    assert says in file.rejected[0], file.rejected[0]
    result = verify_with(engine, file)
    assert not result.ok and result.message.startswith(f"{path}:2: ")
    # ... and the good checkpoint still reveals a truncation behind the finding
    tamper.truncate_from(engine, 5)
    result = verify_with(engine, read_checkpoint_file(path, keys))
    assert not result.ok and result.first_bad_seq == 5 and "truncated" in result.message


def _server_checkpoints(engine: Engine, path: Path, signer: CheckpointSigner) -> AuditLog:
    """12 records covered by the checkpoints the server's writer signs: at 5, 10 and, on
    its graceful stop, 12."""
    writer = CheckpointWriter(engine, path, signer, every_records=5, every_seconds=3600)
    log = AuditLog(engine, after_append=writer.appended)
    for _ in range(2):
        fill(log, 5)
        assert writer.run_once() is not None
    fill(log, 2)
    assert writer.run_once() is None  # 2 records: not due yet
    assert writer.run_once(final=True) is not None
    assert [c.count for c in read_checkpoint_file(path, [signer.public_key]).checkpoints] == [
        5,
        10,
        12,
    ]
    return log


TAMPERS = {
    # what the attacker does -> (first bad seq, the verdict in the message)
    "delete last": (lambda e: tamper.delete(e, 12), 12, "truncated"),
    "truncate": (lambda e: tamper.truncate_from(e, 8), 8, "truncated"),
    "replace last": (tamper.replace_last, 12, "rewritten"),
    "rewrite and rehash all": (lambda e: tamper.rewrite_from(e, 1), 5, "rewritten"),
    "append fabricated in place of deleted ones": (
        lambda e: (
            tamper.truncate_from(e, 11),
            tamper.append_fabricated(e),
            tamper.append_fabricated(e),
        ),
        12,
        "rewritten",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_each_tamper_is_caught_once_a_signed_checkpoint_covers_it(
    engine: Engine, tmp_path: Path, signer: CheckpointSigner, case: str
) -> None:
    path = tmp_path / "cp.jsonl"
    _server_checkpoints(engine, path, signer)
    act, first_bad, verdict = TAMPERS[case]
    act(engine)
    assert verify(engine).ok  # the chain alone cannot tell: each tamper re-links it
    result = verify_with(engine, read_checkpoint_file(path, [signer.public_key]))
    assert not result.ok
    assert result.first_bad_seq == first_bad, result.message
    assert verdict in result.message and f"seq={first_bad}" in result.message


def test_a_fabricated_record_appended_after_the_last_checkpoint_is_not_vouched_for(
    engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    """A record appended behind the server's back after the last checkpoint, correctly
    chained, cannot be told from a real one by the chain: what verification says is that
    no checkpoint covers it — and a checkpoint line added to cover it is a finding."""
    path = tmp_path / "cp.jsonl"
    _server_checkpoints(engine, path, signer)
    tamper.append_fabricated(engine)
    keys = [signer.public_key]
    result = verify_with(engine, read_checkpoint_file(path, keys))
    assert result.ok and (result.count, result.covered) == (13, 12)
    assert result.message.endswith("covering seq 1..12; seq 13..13 not covered yet")
    impostor = CheckpointSigner.from_pem(CheckpointSigner.new_pem())
    with path.open("a") as fh:
        fh.write(signed_line(Checkpoint(*AuditLog(engine).head(), utcnow()), impostor) + "\n")
        unsigned = {"at": "2030-01-01T00:00:00.000000Z", "count": 13, "hash": "a" * 64}
        fh.write(canonical_json(unsigned) + "\n")
    result = verify_with(engine, read_checkpoint_file(path, keys))
    assert not result.ok and result.covered == 12
    assert f"{path}:4: checkpoint of 13 records signed by key '{impostor.key_id}'" in (
        result.message
    )
    assert f"{path}:5: checkpoint of 13 records without a signature" in result.message
