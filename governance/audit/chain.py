"""Append-only, hash-chained audit log on the ``audit_record`` table.

Each record stores its canonical JSON body (see :mod:`governance.canonical`) exactly as
it was hashed::

    body = {"action": ..., "at": "2026-11-23T19:58:01.123456Z", "payload": {...},
            "record_id": "<uuid4>", "seq": n}
    hash = sha256((prev_hash + body).encode("utf-8")).hexdigest()

with ``prev_hash`` of the first record (``seq = 1``) being :data:`GENESIS`. Appending takes
the chain head under a lock — SQLite: the engine's ``BEGIN IMMEDIATE`` (see
:mod:`governance.store.db`); PostgreSQL: a transaction-scoped advisory lock — so concurrent
writers, in one process or several, can never fork the chain.

:func:`verify` recomputes the chain; checkpoints (count + head hash) written *outside* the
database (:mod:`governance.audit.checkpoints`) also reveal a truncated tail or a wholesale
rewrite. Nothing in this module deletes or edits a record.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text

from governance.audit.policy_stamp import POLICY_CHANGE, Head, PolicyTracker
from governance.canonical import NotCanonical, canonical_json, iso_utc
from governance.clock import as_utc, utcnow
from governance.errors import AuditWriteError, InvalidInput
from governance.policy.store import PolicyStore
from governance.store.db import SQLITE_BEGIN, SQLITE_DATETIME, sqlite_write
from governance.store.records import AuditRecord

#: ``prev_hash`` of the first record.
GENESIS = "0" * 64
#: Longest action name (the width of the ``action`` column).
MAX_ACTION_LENGTH = 64
#: Key of the PostgreSQL advisory lock that serialises appends (any fixed 64-bit value).
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"twinreg.audit_log.head").digest()[:8], "big", signed=True
)

_t = AuditRecord.__table__  # type: ignore[attr-defined]
_HEAD = select(_t.c.seq, _t.c.hash).order_by(_t.c.seq.desc()).limit(1)
_INSERT = insert(_t)
_PG_LOCK = text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
_VERIFY_BATCH = 2000
_RAW_HEAD = "SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1"
_LAST_POLICY_CHANGE = (
    select(_t.c.body).where(_t.c.action == POLICY_CHANGE).order_by(_t.c.seq.desc()).limit(1)
)
_RAW_LAST_POLICY_CHANGE = "SELECT body FROM audit_record WHERE action = ? ORDER BY seq DESC LIMIT 1"
_RAW_INSERT = (
    "INSERT INTO audit_record (seq, record_id, at, action, body, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class _Record:
    """A record to append: its action and payload, encoded before the chain is locked."""

    action: str
    action_json: str
    payload_json: str
    payload: Mapping[str, Any]
    #: Whether the payload's policy version was stamped by the log (not the caller's own).
    stamped: bool


@dataclass(frozen=True)
class AuditEntry:
    """What the caller learns about the record it appended."""

    seq: int
    record_id: str
    hash: str
    at: datetime


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
    ``message`` names it (seq and record_id) and says why.
    """

    ok: bool
    count: int
    first_bad_seq: int | None
    message: str


def chain_hash(prev_hash: str, body: str) -> str:
    """SHA-256 (hex) of the previous record's hash followed by this record's body."""
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


class AuditLog:
    """Appends records to the chain and reads them back. Thread-safe; one per engine."""

    def __init__(self, engine: Engine, policies: PolicyStore | None = None) -> None:
        """With ``policies``, every record carries a policy version and the chain records
        its changes (:mod:`governance.audit.policy_stamp`)."""
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._sqlite = engine.dialect.name == "sqlite"
        self._policy = None if policies is None else PolicyTracker(policies)

    # -- writes -------------------------------------------------------------------------
    def append(
        self, action: str, payload: Mapping[str, Any], *, conn: Connection | None = None
    ) -> AuditEntry:
        """Append one record and commit it durably before returning.

        With ``conn`` the record joins the caller's transaction instead (the caller's
        change and its audit record commit or roll back together; durability is then the
        caller's commit). Any failure raises :class:`AuditWriteError` and stores nothing.
        """
        try:
            action_json = _action_json(action)
            if not isinstance(payload, Mapping):
                raise NotCanonical("the payload must be a mapping with string keys")
            stamped = False
            if self._policy is not None:
                payload, stamped = self._policy.stamp(payload)
            record = _Record(action, action_json, canonical_json(payload), payload, stamped)
            if conn is not None:
                return self._append(conn, record)
            if self._sqlite:
                # The hot path of every decision: three statements on a DB-API connection.
                with sqlite_write(self._engine) as cursor:
                    entry = self._insert_sqlite(cursor, record)
                return entry
            with self._engine.begin() as own:
                entry = self._append(own, record)
            return entry
        except AuditWriteError:
            raise
        except Exception as exc:
            raise AuditWriteError(
                f"audit record {action!r} was not written (nothing was stored): {exc}"
            ) from exc

    def _append(self, conn: Connection, record: _Record) -> AuditEntry:
        if self._sqlite:
            return self._append_sqlite(conn, record)
        if self._postgres:
            conn.execute(_PG_LOCK)  # held until this transaction ends
        row = conn.execute(_HEAD).first()
        head = None if row is None else (int(row[0]), str(row[1]))
        change, payload_json = self._policy_first(
            head, lambda: conn.execute(_LAST_POLICY_CHANGE).scalar(), record
        )
        if change is not None:
            first = self._insert(conn, head, POLICY_CHANGE, _POLICY_CHANGE_JSON, change)
            head = (first.seq, first.hash)
        entry = self._insert(conn, head, record.action, record.action_json, payload_json)
        if self._policy is not None:
            self._policy.wrote((entry.seq, entry.hash))
        return entry

    def _policy_first(
        self, head: Head | None, last_change: Callable[[], str | None], record: _Record
    ) -> tuple[str | None, str]:
        """Under the chain's lock: the ``policy.change`` payload to insert before
        ``record``, if any, and the record's payload (stamped again if its writer's view
        moved since it was stamped)."""
        if self._policy is None:
            return None, record.payload_json
        change = self._policy.change_due(head, last_change)
        again = self._policy.restamp(record.payload) if record.stamped else None
        return change, record.payload_json if again is None else canonical_json(again)

    @staticmethod
    def _insert(
        conn: Connection, head: Head | None, action: str, action_json: str, payload_json: str
    ) -> AuditEntry:
        entry, body, prev_hash = _link(head, action_json, payload_json)
        conn.execute(
            _INSERT,
            {
                "seq": entry.seq,
                "record_id": entry.record_id,
                "at": entry.at,
                "action": action,
                "body": body,
                "prev_hash": prev_hash,
                "hash": entry.hash,
            },
        )
        return entry

    def _append_sqlite(self, conn: Connection, record: _Record) -> AuditEntry:
        """The same append inside the caller's SQLite transaction (on its DB-API
        connection). The transaction was begun with ``BEGIN IMMEDIATE`` (see
        :mod:`governance.store.db`), so the head read and the insert are serialised with every
        other writer; the caller commits."""
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            return self._insert_sqlite(cursor, record)
        finally:
            cursor.close()

    def _insert_sqlite(self, cursor: Any, record: _Record) -> AuditEntry:
        """Head read and insert on a DB-API cursor inside a ``BEGIN IMMEDIATE`` transaction
        (first, when due, the ``policy.change`` record)."""
        row = cursor.execute(_RAW_HEAD).fetchone()
        head = None if row is None else (int(row[0]), str(row[1]))
        change, payload_json = self._policy_first(head, lambda: _last_change_sqlite(cursor), record)
        if change is not None:
            first = _insert_row_sqlite(cursor, head, POLICY_CHANGE, _POLICY_CHANGE_JSON, change)
            head = (first.seq, first.hash)
        entry = _insert_row_sqlite(cursor, head, record.action, record.action_json, payload_json)
        if self._policy is not None:
            self._policy.wrote((entry.seq, entry.hash))
        return entry

    # -- reads --------------------------------------------------------------------------
    def records(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Records in seq order with ``since <= at < until``: the payload's fields next to
        ``seq``, ``record_id``, ``at``, ``action``, ``hash`` and ``prev_hash``.

        Naive datetimes are taken as UTC.
        """
        if limit < 0:
            raise InvalidInput("limit must be zero or more", field="limit")
        if offset < 0:
            raise InvalidInput("offset must be zero or more", field="offset")
        stmt = select(_t.c.body, _t.c.hash, _t.c.prev_hash).order_by(_t.c.seq)
        if since is not None:
            stmt = stmt.where(_t.c.at >= as_utc(since))
        if until is not None:
            stmt = stmt.where(_t.c.at < as_utc(until))
        if action is not None:
            stmt = stmt.where(_t.c.action == action)
        stmt = stmt.limit(limit).offset(offset)
        with _reader(self._engine) as conn:
            rows = conn.execute(stmt).all()
        out: list[dict[str, Any]] = []
        for body, digest, prev_hash in rows:
            parsed: dict[str, Any] = json.loads(body)
            record: dict[str, Any] = dict(parsed.pop("payload"))
            record.update(parsed)
            record["hash"] = digest
            record["prev_hash"] = prev_hash
            out.append(record)
        return out

    def count(self) -> int:
        """Number of records stored."""
        with _reader(self._engine) as conn:
            return int(conn.execute(select(func.count()).select_from(_t)).scalar_one())

    def head(self) -> tuple[int, str]:
        """(seq of the last record, its hash); ``(0, GENESIS)`` for an empty log."""
        with _reader(self._engine) as conn:
            row = conn.execute(_HEAD).first()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


# -- verification ------------------------------------------------------------------------
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
    verified = 0
    try:
        with _reader(engine, snapshot=True) as conn:
            for seq, record_id, action, body, prev_col, stored in _stream(conn):
                problem = _check_record(
                    verified + 1, prev, seq, record_id, action, body, prev_col, stored
                )
                if problem is not None:
                    return VerifyResult(False, verified, problem[0], problem[1])
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
                        )
                verified = seq
    except Exception as exc:
        return VerifyResult(False, verified, None, f"the audit log could not be read: {exc}")
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
        )
    matched = sum(1 for cp in checkpoints if cp.count > 0)
    return VerifyResult(
        True, verified, None, f"{verified} records verified; {matched} checkpoints matched"
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


def _stream(conn: Connection) -> Iterator[tuple[int, str, str, str, str, str]]:
    """All rows in seq order, fetched in keyset batches (bounded memory)."""
    stmt = (
        select(_t.c.seq, _t.c.record_id, _t.c.action, _t.c.body, _t.c.prev_hash, _t.c.hash)
        .order_by(_t.c.seq)
        .limit(_VERIFY_BATCH)
    )
    last: int | None = None
    while True:
        page = stmt if last is None else stmt.where(_t.c.seq > last)
        rows = conn.execute(page).all()
        for row in rows:
            yield (int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]))
        if len(rows) < _VERIFY_BATCH:
            return
        last = int(rows[-1][0])


# -- helpers -----------------------------------------------------------------------------
def _action_json(action: str) -> str:
    if not isinstance(action, str) or not action or len(action) > MAX_ACTION_LENGTH:
        raise NotCanonical(
            f"action must be a non-empty string of at most {MAX_ACTION_LENGTH} characters",
            field="action",
        )
    return canonical_json(action)


_POLICY_CHANGE_JSON = _action_json(POLICY_CHANGE)


def _insert_row_sqlite(
    cursor: Any, head: Head | None, action: str, action_json: str, payload_json: str
) -> AuditEntry:
    entry, body, prev_hash = _link(head, action_json, payload_json)
    stored_at = entry.at.strftime(SQLITE_DATETIME)
    cursor.execute(
        _RAW_INSERT,
        (entry.seq, entry.record_id, stored_at, action, body, prev_hash, entry.hash),
    )
    return entry


def _link(head: Head | None, action_json: str, payload_json: str) -> tuple[AuditEntry, str, str]:
    """The next link after ``head``: its entry, its body and the previous hash."""
    seq, prev_hash = (1, GENESIS) if head is None else (head[0] + 1, head[1])
    at = utcnow()
    record_id = str(uuid.uuid4())
    body = _body(seq, record_id, iso_utc(at), action_json, payload_json)
    return AuditEntry(seq, record_id, chain_hash(prev_hash, body), at), body, prev_hash


def _last_change_sqlite(cursor: Any) -> str | None:
    row = cursor.execute(_RAW_LAST_POLICY_CHANGE, (POLICY_CHANGE,)).fetchone()
    return None if row is None else str(row[0])


def _body(seq: int, record_id: str, at: str, action_json: str, payload_json: str) -> str:
    """Canonical JSON of the record body, assembled from already canonical parts.

    Equal to ``canonical_json({"action", "at", "payload", "record_id", "seq"})`` (keys in
    sorted order); the payload is encoded before the chain head is locked.
    """
    return (
        f'{{"action":{action_json},"at":"{at}","payload":{payload_json},'
        f'"record_id":"{record_id}","seq":{seq}}}'
    )


@contextmanager
def _reader(engine: Engine, *, snapshot: bool = False) -> Iterator[Connection]:
    """A read-only transaction that does not take SQLite's write lock.

    With ``snapshot`` PostgreSQL reads under REPEATABLE READ (one consistent snapshot);
    SQLite's WAL gives every read transaction a snapshot anyway.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
        elif snapshot:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            yield conn
        finally:
            conn.rollback()
