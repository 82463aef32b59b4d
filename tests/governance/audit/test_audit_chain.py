"""The audit hash chain: appends, reads, and verification catching every kind of tamper."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from governance.audit.chain import AuditLog
from governance.audit.checkpoints import (
    read_checkpoint_file,
    read_checkpoints,
    signed_line,
    verify_with,
    write_checkpoint,
)
from governance.audit.reads import GENESIS
from governance.audit.signing import CheckpointSigner
from governance.audit.verify import Checkpoint, verify
from governance.canonical import canonical_json
from governance.errors import AuditChainBroken
from tests.governance import audit_tamper as tamper


def fill(engine: Engine, n: int, action: str = "predict") -> AuditLog:
    log = AuditLog(engine)
    for i in range(n):
        log.append(action, {"i": i, "patient": f"p{i % 3}", "score": i / 7})
    return log


def test_appended_records_form_a_chain_from_genesis(sqlite_engine: Engine) -> None:
    log = AuditLog(sqlite_engine)
    assert log.head() == (0, GENESIS)
    first = log.append(
        "consent.grant",
        {
            "patient": "k1",
            "valid_from": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
            "ratio": 0.1,
            "tags": ("a", "b"),
        },
    )
    second = log.append("predict", {"z": None, "a": True})
    assert (first.seq, second.seq) == (1, 2)
    rows = [tamper.row(sqlite_engine, s) for s in (1, 2)]
    # The stored body is canonical, and the hash is recomputable from it alone.
    for r in rows:
        assert canonical_json(json.loads(r["body"])) == r["body"]
    assert rows[0]["prev_hash"] == GENESIS
    assert rows[0]["hash"] == hashlib.sha256((GENESIS + rows[0]["body"]).encode()).hexdigest()
    assert rows[1]["prev_hash"] == first.hash == rows[0]["hash"]
    assert rows[1]["hash"] == second.hash
    body = json.loads(rows[0]["body"])
    assert body == {
        "action": "consent.grant",
        "at": first.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "payload": {
            "patient": "k1",
            "ratio": 0.1,
            "tags": ["a", "b"],
            "valid_from": "2026-01-02T03:04:05.000006Z",
        },
        "record_id": first.record_id,
        "seq": 1,
    }
    assert log.head() == (2, second.hash)
    assert log.count() == 2


def test_verify_accepts_an_intact_chain(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 30)
    result = verify(sqlite_engine)
    assert result.ok, result.message
    assert (result.count, result.first_bad_seq) == (30, None)


def test_verify_of_an_empty_log(sqlite_engine: Engine) -> None:
    result = verify(sqlite_engine)
    assert result.ok and result.count == 0


def test_verify_streams_across_batches(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import governance.audit.reads as audit_reads

    monkeypatch.setattr(audit_reads, "_ROWS_BATCH", 4)
    fill(sqlite_engine, 13)
    assert verify(sqlite_engine).count == 13
    tamper.edit_body(sqlite_engine, 9)
    assert verify(sqlite_engine).first_bad_seq == 9


def test_records_are_filtered_and_paged(sqlite_engine: Engine) -> None:
    log = fill(sqlite_engine, 6)
    log.append("audit.read", {"returned": 6})
    everything = log.records()
    assert [r["seq"] for r in everything] == list(range(1, 8))
    # The payload's fields sit next to the record's own (which win a name clash).
    assert {"hash", "prev_hash", "record_id", "at", "action", "i", "patient"} <= set(everything[0])
    assert everything[0]["i"] == 0 and everything[0]["seq"] == 1
    assert [r["seq"] for r in log.records(action="audit.read")] == [7]
    assert [r["seq"] for r in log.records(limit=2, offset=3)] == [4, 5]
    at3 = datetime.fromisoformat(everything[2]["at"].replace("Z", "+00:00"))
    assert log.records(since=at3, limit=1)[0]["seq"] == 3
    assert all(r["seq"] < 3 for r in log.records(until=at3))
    naive = at3.replace(tzinfo=None)  # naive datetimes are UTC
    assert log.records(since=naive) == log.records(since=at3)
    future = datetime.now(UTC) + timedelta(days=1)
    assert log.records(since=future) == []


def test_an_edited_body_is_named(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 10)
    record_id = tamper.row(sqlite_engine, 4)["record_id"]
    tamper.edit_body(sqlite_engine, 4)
    result = verify(sqlite_engine)
    assert not result.ok
    assert (result.first_bad_seq, result.count) == (4, 3)
    assert "seq=4" in result.message and record_id in result.message


def test_an_edited_hash_is_named(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 10)
    tamper.edit_hash(sqlite_engine, 10)
    assert verify(sqlite_engine).first_bad_seq == 10


def test_an_edit_with_a_fixed_hash_breaks_the_next_link(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 10)
    tamper.edit_body(sqlite_engine, 5)
    r5 = tamper.row(sqlite_engine, 5)
    fixed = hashlib.sha256((r5["prev_hash"] + r5["body"]).encode()).hexdigest()
    tamper.execute(sqlite_engine, "UPDATE audit_record SET hash = :h WHERE seq = 5", h=fixed)
    # Even pointing the next record's prev_hash column at it does not help: the chain is
    # recomputed, never read from the prev_hash column.
    tamper.execute(sqlite_engine, "UPDATE audit_record SET prev_hash = :h WHERE seq = 6", h=fixed)
    result = verify(sqlite_engine)
    assert result.first_bad_seq == 6
    assert "seq=6" in result.message


def test_an_edited_prev_hash_column_is_named(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 5)
    tamper.edit_prev_hash(sqlite_engine, 3)
    result = verify(sqlite_engine)
    assert result.first_bad_seq == 3 and "prev_hash" in result.message


def test_edited_record_id_or_action_columns_are_named(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 5)
    tamper.execute(sqlite_engine, "UPDATE audit_record SET action = 'other' WHERE seq = 2")
    assert verify(sqlite_engine).first_bad_seq == 2
    tamper.execute(sqlite_engine, "UPDATE audit_record SET action = 'predict' WHERE seq = 2")
    assert verify(sqlite_engine).ok
    tamper.execute(sqlite_engine, "UPDATE audit_record SET record_id = 'x' WHERE seq = 4")
    assert verify(sqlite_engine).first_bad_seq == 4


def test_a_deleted_record_is_named(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 10)
    tamper.delete(sqlite_engine, 6)
    result = verify(sqlite_engine)
    assert (result.first_bad_seq, result.count) == (6, 5)
    assert "seq=6 is missing" in result.message


def test_a_deleted_first_record_is_named(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 3)
    tamper.delete(sqlite_engine, 1)
    assert verify(sqlite_engine).first_bad_seq == 1


def test_swapped_records_are_named(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 10)
    tamper.swap(sqlite_engine, 3, 7)
    result = verify(sqlite_engine)
    assert result.first_bad_seq == 3
    assert "reordered" in result.message


def test_swapped_neighbours_are_named(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 4)
    tamper.swap(sqlite_engine, 2, 3)
    assert verify(sqlite_engine).first_bad_seq == 2


def test_a_truncated_tail_is_caught_only_by_a_checkpoint(
    sqlite_engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    fill(sqlite_engine, 10)
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    cp = write_checkpoint(sqlite_engine, checkpoints, signer)
    assert (cp.count, cp.hash) == AuditLog(sqlite_engine).head()
    tamper.truncate_from(sqlite_engine, 8)
    assert verify(sqlite_engine).ok  # the chain itself is intact: only 7 records left
    result = verify(sqlite_engine, read_checkpoints(checkpoints, [signer.public_key]))
    assert not result.ok
    assert (result.first_bad_seq, result.count) == (8, 7)
    assert "truncated" in result.message


def test_a_wholesale_rewrite_is_caught_by_a_checkpoint(
    sqlite_engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    log = fill(sqlite_engine, 10)
    path = tmp_path / "cp.jsonl"
    write_checkpoint(sqlite_engine, path, signer)
    log.append("predict", {"after": "checkpoint"})
    tamper.rewrite_from(sqlite_engine, 4)
    assert verify(sqlite_engine).ok  # internally consistent
    result = verify(sqlite_engine, read_checkpoints(path, [signer.public_key]))
    assert result.first_bad_seq == 10
    assert "rewritten" in result.message


def test_several_checkpoints_name_the_earliest_problem(
    sqlite_engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    log = AuditLog(sqlite_engine)
    path = tmp_path / "cp.jsonl"
    for _ in range(3):
        for i in range(4):
            log.append("predict", {"i": i})
        write_checkpoint(sqlite_engine, path, signer)
    cps = read_checkpoints(path, [signer.public_key])
    assert [c.count for c in cps] == [4, 8, 12]
    result = verify(sqlite_engine, cps)
    assert result.ok and "3 checkpoints matched" in result.message
    tamper.truncate_from(sqlite_engine, 6)
    assert verify(sqlite_engine, cps).first_bad_seq == 6


def test_checkpoint_file_round_trip_and_damage(tmp_path: Path, signer: CheckpointSigner) -> None:
    path = tmp_path / "sub" / "cp.jsonl"
    keys = [signer.public_key]
    assert read_checkpoints(path, keys) == []
    at = datetime(2026, 11, 23, 19, 58, 1, 123456, tzinfo=UTC)
    line = signed_line(Checkpoint(3, "a" * 64, at), signer)
    path.parent.mkdir()
    path.write_text(line + "\n" + '{"count": 4, "ha', encoding="utf-8")  # torn last line
    assert read_checkpoints(path, keys) == [Checkpoint(3, "a" * 64, at)]
    path.write_text('{"count": -1, "hash": "x", "at": "2026-01-01T00:00:00Z"}\n' + line + "\n")
    with pytest.raises(AuditChainBroken, match=r"cp\.jsonl:1"):
        read_checkpoints(path, keys)


def test_an_unreadable_checkpoint_line_hides_nothing(
    sqlite_engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    """A line edited into garbage (or into bytes that are not UTF-8) fails verification
    by itself, and the readable checkpoints still reveal a truncation."""
    log = AuditLog(sqlite_engine)
    for i in range(5):
        log.append("predict", {"i": i})
    path = tmp_path / "cp.jsonl"
    write_checkpoint(sqlite_engine, path, signer)
    tamper.truncate_from(sqlite_engine, 4)
    with path.open("ab") as fh:
        fh.write(b'{"garbage": 1}\n\xff\xfe not text\n')
    file = read_checkpoint_file(path, [signer.public_key])
    assert [c.count for c in file.checkpoints] == [5]
    assert [u.split(": ")[0] for u in file.rejected] == [f"{path}:2", f"{path}:3"]
    result = verify_with(sqlite_engine, file)
    assert not result.ok and result.first_bad_seq == 4
    assert result.message.startswith(f"{path}:2: malformed checkpoint")
    assert "truncated" in result.message or "missing" in result.message, result.message
    with pytest.raises(AuditChainBroken, match=r"cp\.jsonl:2"):
        read_checkpoints(path, [signer.public_key])


def test_append_joins_the_callers_transaction(sqlite_engine: Engine) -> None:
    log = AuditLog(sqlite_engine)
    with sqlite_engine.begin() as conn:
        entry = log.append("token.revoke", {"jti": "j1"}, conn=conn)
    assert entry.seq == 1 and log.count() == 1

    class RolledBackError(Exception):
        pass

    with pytest.raises(RolledBackError), sqlite_engine.begin() as conn:
        log.append("token.revoke", {"jti": "j2"}, conn=conn)
        raise RolledBackError
    assert log.count() == 1 and verify(sqlite_engine).ok


def test_a_checkpoint_after_a_torn_write_starts_its_own_line(
    sqlite_engine: Engine, tmp_path: Path, signer: CheckpointSigner
) -> None:
    log = AuditLog(sqlite_engine)
    log.append("predict", {"i": 1})
    path = tmp_path / "cp.jsonl"
    write_checkpoint(sqlite_engine, path, signer)
    with path.open("ab") as fh:
        fh.write(b'{"count": 1, "ha')  # the crash
    log.append("predict", {"i": 2})
    write_checkpoint(sqlite_engine, path, signer)
    file = read_checkpoint_file(path, [signer.public_key])
    assert [c.count for c in file.checkpoints] == [1, 2] and file.rejected == []
    assert verify_with(sqlite_engine, file).ok
    # a line nested too deeply to parse is a finding, not a crash
    with path.open("ab") as fh:
        fh.write(b"[" * 100_000 + b"\n")
    assert (
        read_checkpoint_file(path, [signer.public_key])
        .rejected[0]
        .startswith(f"{path}:3: malformed")
    )
