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

:func:`governance.audit.verify.verify` recomputes the chain; signed checkpoints (Ed25519,
written outside the database by :mod:`governance.audit.checkpoint_writer`, told each seq
by ``after_append``) also reveal a truncated tail, a replaced record or a rewrite. Nothing
here deletes or edits a record; ``docs/audit-format.md`` specifies the bytes hashed.

The chain knows nothing of policies: what each record is stamped with, and any record
that must go in first, comes from an :class:`AppendHook` the composition passes in (the
policy-version stamp, :mod:`governance.audit.policy_stamp`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text

from governance.audit import reads
from governance.audit.hook import AppendHook, Head, LastBody
from governance.audit.reads import GENESIS, HEAD
from governance.canonical import NotCanonical, canonical_json, iso_utc
from governance.clock import utcnow
from governance.errors import AuditWriteError, StoreBusy
from governance.store.db import SQLITE_DATETIME, sqlite_write
from governance.store.records import AuditRecord

#: Longest action name (the width of the ``action`` column).
MAX_ACTION_LENGTH = 64
#: Key of the PostgreSQL advisory lock that serialises appends (any fixed 64-bit value).
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"twinreg.audit_log.head").digest()[:8], "big", signed=True
)

_t = AuditRecord.__table__  # type: ignore[attr-defined]
_INSERT = insert(_t)
_PG_LOCK = text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
_RAW_HEAD = "SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1"
_RAW_LAST_BODY = "SELECT body FROM audit_record WHERE action = ? ORDER BY seq DESC LIMIT 1"

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
    #: Whether the hook changed the payload (then it may change it again under the lock).
    changed: bool


@dataclass(frozen=True)
class AuditEntry:
    """What the caller learns about the record it appended."""

    seq: int
    record_id: str
    hash: str
    at: datetime


def chain_hash(prev_hash: str, body: str) -> str:
    """SHA-256 (hex) of the previous record's hash followed by this record's body."""
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


class AuditLog:
    """Appends records to the chain and reads them back. Thread-safe; one per engine."""

    def __init__(
        self,
        engine: Engine,
        hook: AppendHook | None = None,
        *,
        after_append: Callable[[int], None] | None = None,
    ) -> None:
        """``hook`` is called around every append (in the product: the policy-version
        stamp, :class:`governance.audit.policy_stamp.PolicyStamp`). ``after_append`` gets
        the seq of each appended record once it is committed (or, for a record joining
        the caller's transaction, once it is inserted: a hint, the caller commits); it
        must be cheap and must not raise (in the product: the checkpoint writer's
        :meth:`~governance.audit.checkpoint_writer.CheckpointWriter.appended`)."""
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._sqlite = engine.dialect.name == "sqlite"
        self._hook = hook
        self._after_append = after_append

    # -- writes -------------------------------------------------------------------------
    def append(
        self, action: str, payload: Mapping[str, Any], *, conn: Connection | None = None
    ) -> AuditEntry:
        """Append one record and commit it durably before returning.

        With ``conn`` the record joins the caller's transaction instead (the caller's
        change and its audit record commit or roll back together; durability is then the
        caller's commit). Any failure raises :class:`AuditWriteError` and stores nothing.
        """
        entry = self._append_record(action, payload, conn)
        if self._after_append is not None:
            self._after_append(entry.seq)
        return entry

    def hold(self, conn: Connection) -> None:
        """Take the chain's lock in the caller's transaction ``conn`` now, until it ends:
        every other writer appending a record (every audited change) waits for it before
        it can commit, so what the transaction reads stays as read until it commits
        (SQLite: its ``BEGIN IMMEDIATE`` holds the write lock already; PostgreSQL: the
        advisory lock)."""
        if self._postgres:
            conn.execute(_PG_LOCK)

    def _append_record(
        self, action: str, payload: Mapping[str, Any], conn: Connection | None
    ) -> AuditEntry:
        try:
            action_json = _action_json(action)
            if not isinstance(payload, Mapping):
                raise NotCanonical("the payload must be a mapping with string keys")
            changed = False
            if self._hook is not None:
                payload, changed = self._hook.prepare(payload)
            record = _Record(action, action_json, canonical_json(payload), payload, changed)
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
        except (AuditWriteError, StoreBusy):
            raise  # StoreBusy: nothing written, the caller does it again off the event loop
        except Exception as exc:
            raise AuditWriteError(
                f"audit record {action!r} was not written (nothing was stored): {exc}"
            ) from exc

    def _append(self, conn: Connection, record: _Record) -> AuditEntry:
        if self._sqlite:
            return self._append_sqlite(conn, record)
        if self._postgres:
            conn.execute(_PG_LOCK)  # held until this transaction ends
        row = conn.execute(HEAD).first()
        head = None if row is None else (int(row[0]), str(row[1]))

        def last_body(action: str) -> str | None:
            stmt = select(_t.c.body).where(_t.c.action == action)
            return conn.execute(stmt.order_by(_t.c.seq.desc()).limit(1)).scalar()

        first, payload_json = self._under_lock(head, last_body, record)
        if first is not None:
            before = self._insert(conn, head, first[0], _action_json(first[0]), first[1])
            head = (before.seq, before.hash)
        entry = self._insert(conn, head, record.action, record.action_json, payload_json)
        if self._hook is not None:
            self._hook.appended((entry.seq, entry.hash))
        return entry

    def _under_lock(
        self, head: Head | None, last_body: LastBody, record: _Record
    ) -> tuple[tuple[str, str] | None, str]:
        """Under the chain's lock: the hook's record to insert before ``record``, if any,
        and ``record``'s payload JSON (the hook's replacement, if it gave one)."""
        if self._hook is None:
            return None, record.payload_json
        first, again = self._hook.under_lock(head, last_body, record.payload, record.changed)
        return first, record.payload_json if again is None else canonical_json(again)

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
        first, payload_json = self._under_lock(
            head, lambda action: _last_body_sqlite(cursor, action), record
        )
        if first is not None:
            before = _insert_row_sqlite(cursor, head, first[0], _action_json(first[0]), first[1])
            head = (before.seq, before.hash)
        entry = _insert_row_sqlite(cursor, head, record.action, record.action_json, payload_json)
        if self._hook is not None:
            self._hook.appended((entry.seq, entry.hash))
        return entry

    # -- reads (governance.audit.reads) ----------------------------------------------
    def records(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Records in seq order with ``since <= at < until`` (:func:`reads.records`)."""
        return reads.records(self._engine, since, until, action, limit, offset)

    def record(self, record_id: str) -> dict[str, Any] | None:
        """The record ``record_id`` (:func:`reads.record`), None when there is none."""
        return reads.record(self._engine, record_id)

    def count(self) -> int:
        """Number of records stored."""
        return reads.count(self._engine)

    def head(self) -> tuple[int, str]:
        """(seq of the last record, its hash); ``(0, GENESIS)`` for an empty log."""
        return reads.head(self._engine)


# -- helpers -----------------------------------------------------------------------------
def _action_json(action: str) -> str:
    if not isinstance(action, str) or not action or len(action) > MAX_ACTION_LENGTH:
        raise NotCanonical(
            f"action must be a non-empty string of at most {MAX_ACTION_LENGTH} characters",
            field="action",
        )
    return canonical_json(action)


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


def _last_body_sqlite(cursor: Any, action: str) -> str | None:
    row = cursor.execute(_RAW_LAST_BODY, (action,)).fetchone()
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
