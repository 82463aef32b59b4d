"""Checkpoints of the audit chain, kept outside the database: one JSON line per head.

A checkpoint (count + head hash) reveals what :func:`~governance.audit.chain.verify` alone
cannot: a truncated tail or a wholesale rewrite of the database. The file is evidence too:
a line that cannot be read is itself a finding, reported next to what the readable
checkpoints still show (an edited line must not hide a truncation the others reveal).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from governance.audit.chain import AuditLog
from governance.audit.verify import Checkpoint, VerifyResult, verify
from governance.canonical import canonical_json
from governance.clock import as_utc, utcnow
from governance.errors import AuditChainBroken


@dataclass(frozen=True)
class CheckpointFile:
    """What a checkpoints file holds: the checkpoints read, and the lines that could not
    be (``path:line: why``)."""

    checkpoints: list[Checkpoint]
    unreadable: list[str]

    def findings(self, chain_message: str) -> str:
        """The unreadable lines, then what the chain and the readable checkpoints show."""
        return "; ".join([*self.unreadable, chain_message])


def write_checkpoint(engine: Engine, path: Path) -> Checkpoint:
    """Append the current head (count + hash) as one JSON line to ``path``, fsync'd.

    ``path`` should live outside the database (e.g. ``<home>/audit-checkpoints.jsonl``)
    so that a rewrite of the database cannot also rewrite its checkpoints.
    """
    count, digest = AuditLog(engine).head()
    cp = Checkpoint(count, digest, utcnow())
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    with path.open("a+b") as fh:
        _drop_torn_line(fh)
        fh.write((canonical_json(cp.to_dict()) + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    if created:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return cp


def _drop_torn_line(fh: BinaryIO) -> None:
    """Cut an unterminated last line (a write torn by a crash, which readers ignore) so
    that the next checkpoint starts a line of its own."""
    size = fh.seek(0, os.SEEK_END)
    if size == 0:
        return
    fh.seek(max(0, size - 65536))
    tail = fh.read()
    if tail.endswith(b"\n"):
        return
    cut = tail.rfind(b"\n")
    fh.truncate(size - len(tail) + cut + 1 if cut >= 0 else max(0, size - len(tail)))
    fh.seek(0, os.SEEK_END)


def read_checkpoint_file(path: Path) -> CheckpointFile:
    """The checkpoints in ``path`` (none if it does not exist) and its unreadable lines.

    An unterminated last line (a write torn by a crash) is ignored.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CheckpointFile([], [])
    except OSError as exc:
        return CheckpointFile([], [f"{path}: unreadable: {exc}"])
    lines = raw.split(b"\n")
    found: list[Checkpoint] = []
    unreadable: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            found.append(_parse_checkpoint(line.decode("utf-8")))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # incl. not UTF-8
            if number == len(lines):  # no newline after it: torn write
                continue
            unreadable.append(f"{path}:{number}: malformed checkpoint: {exc}")
    return CheckpointFile(found, unreadable)


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """The checkpoints in ``path``; the first unreadable line raises
    :class:`AuditChainBroken`."""
    file = read_checkpoint_file(path)
    if file.unreadable:
        raise AuditChainBroken(file.unreadable[0], seq=None)
    return file.checkpoints


def verify_with(engine: Engine, file: CheckpointFile) -> VerifyResult:
    """:func:`~governance.audit.chain.verify` against the file's readable checkpoints; any
    unreadable line fails the verification too, named before what the chain shows."""
    result = verify(engine, file.checkpoints)
    if not file.unreadable:
        return result
    return replace(result, ok=False, message=file.findings(result.message))


def _parse_checkpoint(line: str) -> Checkpoint:
    data = json.loads(line)
    count, digest, at = data["count"], data["hash"], data["at"]
    if type(count) is not int or count < 0:
        raise ValueError(f"count must be a non-negative integer, not {count!r}")
    if not isinstance(digest, str) or len(digest) != 64:
        raise ValueError(f"hash must be 64 hex digits, not {digest!r}")
    int(digest, 16)
    parsed = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    return Checkpoint(count, digest, as_utc(parsed))
