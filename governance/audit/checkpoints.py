"""Signed checkpoints of the audit chain, kept outside the database: one JSON line each.

A checkpoint (count + head hash, signed with Ed25519, :mod:`governance.audit.signing`)
reveals what :func:`~governance.audit.verify.verify` alone cannot: a truncated tail, a
replaced last record or a wholesale rewrite of the database. Each line is the canonical
JSON (:mod:`governance.canonical`) of::

    {"at": "2026-11-23T19:58:01.123456Z", "count": 1000, "hash": "<64 hex>",
     "key_id": "<16 hex>", "signature": "<128 hex>"}

Only a line whose signature verifies with a trusted public key is evidence. The file is
evidence too: a line that cannot be read, carries no signature, names an untrusted key or
whose signature fails is itself a finding, reported next to what the good checkpoints
still show (an edited line must not hide a truncation the others reveal).

Several writers (threads, worker processes) append to one file: each line is written with
one ``write`` on a descriptor opened with ``O_APPEND``, under an exclusive ``flock`` held
from reading the latest checkpoint to the ``fsync`` of the new one, so lines never
interleave and two writers never sign the same moment twice. The file is created 0600.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from governance.audit import reads
from governance.audit.signing import CheckpointKey, CheckpointSigner
from governance.audit.verify import Checkpoint, VerifyResult, verify
from governance.canonical import canonical_json, iso_utc
from governance.clock import utcnow
from governance.errors import AuditChainBroken

_HASH = re.compile(r"[0-9a-f]{64}")
_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_FIELDS = frozenset({"at", "count", "hash", "key_id", "signature"})
_BLOCK = 65536

#: Whether a checkpoint is due: (latest good checkpoint in the file or None, head) -> bool.
Due = Callable[[Checkpoint | None, tuple[int, str]], bool]


@dataclass(frozen=True)
class CheckpointFile:
    """What a checkpoints file holds: the checkpoints whose signature verified, and the
    lines that are not evidence (``path:line: why``)."""

    checkpoints: list[Checkpoint]
    rejected: list[str]

    def findings(self, chain_message: str) -> str:
        """The rejected lines, then what the chain and the good checkpoints show."""
        return "; ".join([*self.rejected, chain_message])


def write_checkpoint(engine: Engine, path: Path, signer: CheckpointSigner) -> Checkpoint:
    """Sign the current head (count + hash) and append it to ``path``, fsync'd.

    ``path`` should live outside the database (e.g. ``<home>/audit-checkpoints.jsonl``)
    so that a rewrite of the database cannot also rewrite its checkpoints. Raises
    :class:`AuditChainBroken` (and signs nothing) when the chain no longer holds the
    latest checkpoint's head.
    """
    written = checkpoint_if_due(engine, path, signer, lambda _latest, _head: True)[1]
    assert written is not None
    return written


def checkpoint_if_due(
    engine: Engine, path: Path, signer: CheckpointSigner, due: Due
) -> tuple[Checkpoint | None, Checkpoint | None]:
    """Under the file's lock: read the latest checkpoint signed by ``signer``'s key and the
    chain's head; when ``due(latest, head)``, sign the head and append it.

    Returns (the latest checkpoint before, the one written or None). Raises
    :class:`AuditChainBroken` when the record at the latest checkpoint's count no longer has
    its hash: a head that contradicts a signed checkpoint is never signed.
    """
    with _locked(path) as fh:
        latest = _latest(fh, signer.public_key)
        head = reads.head(engine)
        if not due(latest, head):
            return latest, None
        if latest is not None and latest.count > 0:
            found = reads.hash_at(engine, latest.count)
            if found != latest.hash:
                raise AuditChainBroken(
                    f"the chain no longer matches the checkpoint of {iso_utc(latest.at)}: "
                    f"record seq={latest.count} has "
                    f"{'no record' if found is None else 'hash ' + found} instead of "
                    f"{latest.hash}; it was truncated or rewritten, so no checkpoint is "
                    "signed (run `twinreg audit verify`)",
                    seq=latest.count,
                )
        cp = Checkpoint(head[0], head[1], utcnow())
        line = signed_line(cp, signer)
        fh.write((line + "\n").encode("ascii"))
        fh.flush()
        os.fsync(fh.fileno())
    return latest, cp


def signed_line(cp: Checkpoint, signer: CheckpointSigner) -> str:
    """The checkpoint's line in the file (canonical JSON, no newline)."""
    at = iso_utc(cp.at)
    return canonical_json(
        {
            "at": at,
            "count": cp.count,
            "hash": cp.hash,
            "key_id": signer.key_id,
            "signature": signer.sign(cp.count, cp.hash, at),
        }
    )


@contextmanager
def _locked(path: Path) -> Iterator[BinaryIO]:
    """The file opened for appending (created 0600 when missing), under an exclusive lock,
    with a torn last line (a write cut short by a crash) removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            if created:
                _fsync_dir(path.parent)
            _drop_torn_line(fh)
            yield fh
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _drop_torn_line(fh: BinaryIO) -> None:
    """Cut an unterminated last line (a write torn by a crash, which readers ignore) so
    that the next checkpoint starts a line of its own."""
    size = fh.seek(0, os.SEEK_END)
    if size == 0:
        return
    fh.seek(max(0, size - _BLOCK))
    tail = fh.read()
    if tail.endswith(b"\n"):
        return
    cut = tail.rfind(b"\n")
    fh.truncate(size - len(tail) + cut + 1 if cut >= 0 else max(0, size - len(tail)))
    fh.seek(0, os.SEEK_END)


def _latest(fh: BinaryIO, key: CheckpointKey) -> Checkpoint | None:
    """The last line of the file that is a checkpoint signed by ``key`` (read backwards,
    block by block), or None."""
    end = fh.seek(0, os.SEEK_END)
    carry = b""
    while end > 0:
        start = max(0, end - _BLOCK)
        fh.seek(start)
        chunk = fh.read(end - start) + carry
        lines = chunk.split(b"\n")
        carry = lines.pop(0) if start > 0 else b""
        for raw in reversed(lines):
            if raw.strip():
                try:
                    return _parse(raw, (key,))
                except _RejectedError:
                    continue
        end = start
    return None


def read_checkpoint_file(path: Path, keys: Sequence[CheckpointKey]) -> CheckpointFile:
    """The checkpoints in ``path`` signed by one of ``keys`` (none if the file does not
    exist), and the lines that are not evidence. An unterminated last line (a write torn
    by a crash) is ignored."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CheckpointFile([], [])
    except OSError as exc:
        return CheckpointFile([], [f"{path}: unreadable: {exc}"])
    lines = raw.split(b"\n")
    found: list[Checkpoint] = []
    rejected: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            found.append(_parse(line, keys))
        except _RejectedError as why:
            if number == len(lines) and why.malformed:  # no newline after it: torn write
                continue
            rejected.append(f"{path}:{number}: {why}")
    return CheckpointFile(found, rejected)


def read_checkpoints(path: Path, keys: Sequence[CheckpointKey]) -> list[Checkpoint]:
    """The checkpoints in ``path``; the first line that is not evidence raises
    :class:`AuditChainBroken`."""
    file = read_checkpoint_file(path, keys)
    if file.rejected:
        raise AuditChainBroken(file.rejected[0], seq=None)
    return file.checkpoints


def verify_with(engine: Engine, file: CheckpointFile) -> VerifyResult:
    """:func:`~governance.audit.verify.verify` against the file's good checkpoints; any
    rejected line fails the verification too, named before what the chain shows."""
    result = verify(engine, file.checkpoints)
    if not file.rejected:
        return result
    return replace(result, ok=False, message=file.findings(result.message))


class _RejectedError(Exception):
    """Why a line is not evidence; ``malformed``: it could not even be read."""

    def __init__(self, reason: str, *, malformed: bool = False) -> None:
        super().__init__(reason)
        self.malformed = malformed


def _parse(line: bytes, keys: Sequence[CheckpointKey]) -> Checkpoint:
    try:
        data = json.loads(line.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("a checkpoint is a JSON object")
        count, digest, at = data["count"], data["hash"], data["at"]
        if type(count) is not int or count < 0:
            raise ValueError(f"count must be a non-negative integer, not {count!r}")
        if not isinstance(digest, str) or not _HASH.fullmatch(digest):
            raise ValueError(f"hash must be 64 lowercase hex digits, not {digest!r}")
        if not isinstance(at, str) or not _AT.fullmatch(at):
            raise ValueError(f"at must be YYYY-MM-DDTHH:MM:SS.ffffffZ, not {at!r}")
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # incl. not UTF-8
        raise _RejectedError(f"malformed checkpoint: {exc}", malformed=True) from None
    if "signature" not in data or "key_id" not in data:
        raise _RejectedError(
            f"checkpoint of {count} records without a signature: anyone could have written it"
        )
    if set(data) != _FIELDS:
        raise _RejectedError(f"checkpoint with unexpected fields {sorted(set(data) - _FIELDS)}")
    key_id, signature = data["key_id"], data["signature"]
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        trusted = ", ".join(k.key_id for k in keys) or "none"
        raise _RejectedError(
            f"checkpoint of {count} records signed by key {key_id!r}, which is not trusted "
            f"(trusted: {trusted})"
        )
    if not isinstance(signature, str) or not key.verifies(count, digest, at, signature):
        raise _RejectedError(
            f"checkpoint of {count} records whose signature does not verify with key "
            f"{key_id}: the line was edited or forged"
        )
    return Checkpoint(count, digest, when)
