"""Verification of the audit chain: recompute it in seq order, check it against
checkpoints, and name the first record that does not match."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from governance.audit.chain import chain_hash
from governance.audit.reads import GENESIS, reader, stored_rows
from governance.canonical import iso_utc
from governance.store.records import AuditRecord

_t = AuditRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at one moment: the first ``count`` records end in ``hash``."""

    count: int
    hash: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "hash": self.hash, "at": iso_utc(self.at)}


@dataclass(frozen=True)
class VerifyResult:
    """``count`` is the number of leading records that verified intact.

    ``first_bad_seq`` is the seq of the first record that does not match (or is missing);
    ``message`` names it (seq and record_id) and says why. ``covered``: records 1 to
    ``covered`` are those a matching checkpoint vouches for (records after it are only as
    good as the database they sit in: nothing outside it has seen them yet).
    """

    ok: bool
    count: int
    first_bad_seq: int | None
    message: str
    covered: int = 0
    #: Records stored, counted on the snapshot verified (None if it could not be read).
    total: int | None = None


def verify(engine: Engine, checkpoints: Sequence[Checkpoint] = ()) -> VerifyResult:
    """Recompute the chain in seq order on one consistent snapshot.

    Checks, per record: seqs contiguous from 1 (deletion), the body's seq equals the row's
    (reordering), SHA-256(previous recomputed hash + body) equals the stored hash (edits),
    the row's record_id, action and prev_hash agree with the body and the chain; and per
    checkpoint: the record at ``seq = count`` exists and has the checkpoint's hash
    (truncation behind it, wholesale rewrite). Stops at the first problem.
    """
    due: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        if cp.count > 0:
            due.setdefault(cp.count, []).append(cp)
    prev = GENESIS
    verified = covered = 0
    total: int | None = None
    try:
        with reader(engine, snapshot=True) as conn:
            total = int(conn.execute(select(func.count()).select_from(_t)).scalar_one())
            for seq, record_id, action, body, prev_col, stored in stored_rows(conn):
                problem = _check_record(
                    verified + 1, prev, seq, record_id, action, body, prev_col, stored
                )
                if problem is not None:
                    return VerifyResult(False, verified, problem[0], problem[1], covered, total)
                prev = stored
                for cp in due.pop(seq, ()):
                    if cp.hash != stored:
                        return VerifyResult(
                            False,
                            verified,
                            seq,
                            (
                                f"record seq={seq} (record_id={record_id}) has hash {stored} but "
                                f"the checkpoint of {iso_utc(cp.at)} recorded {cp.hash} for the "
                                f"first {cp.count} records: the chain up to it was rewritten"
                            ),
                            covered,
                            total,
                        )
                    covered = seq
                verified = seq
    except Exception as exc:
        return VerifyResult(
            False, verified, None, f"the audit log could not be read: {exc}", covered
        )
    if due:
        cp = due[min(due)][0]
        return VerifyResult(
            False,
            verified,
            verified + 1,
            (
                f"records seq={verified + 1}..{cp.count} are missing: the checkpoint of "
                f"{iso_utc(cp.at)} recorded {cp.count} records (head hash {cp.hash}) but the "
                f"chain ends at seq={verified}: it was truncated"
            ),
            covered,
            total,
        )
    matched = sum(1 for cp in checkpoints if cp.count > 0)
    return VerifyResult(
        True, verified, None, _verified_message(verified, matched, covered), covered, total
    )


def _verified_message(verified: int, matched: int, covered: int) -> str:
    if matched == 0:
        return f"{verified} records verified; no checkpoint covers them"
    tail = "" if covered == verified else f"; seq {covered + 1}..{verified} not covered yet"
    return (
        f"{verified} records verified; {matched} checkpoints matched, "
        f"covering seq 1..{covered}{tail}"
    )


def _check_record(
    expected: int,
    prev: str,
    seq: int,
    record_id: str,
    action: str,
    body: str,
    prev_col: str,
    stored: str,
) -> tuple[int, str] | None:
    """(bad seq, why) for the first thing wrong with this row, else None."""
    name = f"record seq={seq} (record_id={record_id})"
    if seq != expected:
        if seq > expected:
            return expected, (
                f"record seq={expected} is missing: the chain jumps from "
                f"seq={expected - 1} to {name}: records were deleted"
            )
        return seq, f"{name} is out of sequence: expected seq={expected}"
    try:
        parsed = json.loads(body)
    except ValueError:
        return seq, f"{name} has a body that is not JSON: it was edited"
    body_seq = parsed.get("seq") if isinstance(parsed, dict) else None
    if type(body_seq) is not int or body_seq != seq:
        return seq, (
            f"{name} carries seq={body_seq!r} in its body: records were reordered or moved"
        )
    if chain_hash(prev, body) != stored:
        return seq, (
            f"{name} does not match: SHA-256(previous hash + body) differs from its "
            "stored hash; its body or hash was edited"
        )
    if parsed.get("record_id") != record_id or parsed.get("action") != action:
        return seq, (
            f"{name} does not match: its record_id/action columns differ from its "
            f"body (record_id={parsed.get('record_id')!r}, "
            f"action={parsed.get('action')!r})"
        )
    if prev_col != prev:
        return seq, f"{name} does not match: its prev_hash column was edited"
    return None
