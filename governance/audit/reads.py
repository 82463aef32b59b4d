"""Reading the audit log back: records by period and action, the count, the head.

Reads never take SQLite's write lock (:func:`reader`); nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from governance.clock import as_utc
from governance.errors import InvalidInput
from governance.store.db import SQLITE_BEGIN
from governance.store.records import AuditRecord

#: ``prev_hash`` of the first record.
GENESIS = "0" * 64

_t = AuditRecord.__table__  # type: ignore[attr-defined]
HEAD = select(_t.c.seq, _t.c.hash).order_by(_t.c.seq.desc()).limit(1)
_ROWS_BATCH = 2000


def records(
    engine: Engine,
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
    with reader(engine) as conn:
        rows = conn.execute(stmt).all()
    return [_flat(body, digest, prev_hash) for body, digest, prev_hash in rows]


def record(engine: Engine, record_id: str) -> dict[str, Any] | None:
    """The record ``record_id`` (shaped as :func:`records` returns them), None if none."""
    stmt = select(_t.c.body, _t.c.hash, _t.c.prev_hash).where(_t.c.record_id == record_id)
    with reader(engine) as conn:
        row = conn.execute(stmt).first()
    return None if row is None else _flat(row[0], row[1], row[2])


def _flat(body: str, digest: str, prev_hash: str) -> dict[str, Any]:
    """The payload's fields next to the body's own (seq, record_id, at, action) and the
    stored hashes."""
    parsed: dict[str, Any] = json.loads(body)
    out: dict[str, Any] = dict(parsed.pop("payload"))
    out.update(parsed)
    out["hash"] = digest
    out["prev_hash"] = prev_hash
    return out


def count(engine: Engine) -> int:
    """Number of records stored."""
    with reader(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(_t)).scalar_one())


def head(engine: Engine) -> tuple[int, str]:
    """(seq of the last record, its hash); ``(0, GENESIS)`` for an empty log."""
    with reader(engine) as conn:
        row = conn.execute(HEAD).first()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def payload_of(engine: Engine, record_id: str) -> tuple[str, dict[str, Any]] | None:
    """(action, payload) of the record ``record_id``; None when there is no such record
    (or the id cannot be one: a record id is a uuid of 36 characters)."""
    if not record_id or len(record_id) > 36:
        return None
    stmt = select(_t.c.action, _t.c.body).where(_t.c.record_id == record_id)
    with reader(engine) as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    payload: dict[str, Any] = json.loads(row.body)["payload"]
    return str(row.action), payload


def hash_at(engine: Engine, seq: int) -> str | None:
    """The stored hash of record ``seq``; None when there is no such record."""
    with reader(engine) as conn:
        found = conn.execute(select(_t.c.hash).where(_t.c.seq == seq)).scalar()
    return None if found is None else str(found)


def stored_rows(conn: Connection) -> Iterator[tuple[int, str, str, str, str, str]]:
    """Every row as stored — (seq, record_id, action, body, prev_hash, hash) — in seq
    order, fetched in keyset batches (bounded memory) on ``conn``'s snapshot."""
    stmt = (
        select(_t.c.seq, _t.c.record_id, _t.c.action, _t.c.body, _t.c.prev_hash, _t.c.hash)
        .order_by(_t.c.seq)
        .limit(_ROWS_BATCH)
    )
    last: int | None = None
    while True:
        page = stmt if last is None else stmt.where(_t.c.seq > last)
        rows = conn.execute(page).all()
        for row in rows:
            yield (int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]))
        if len(rows) < _ROWS_BATCH:
            return
        last = int(rows[-1][0])


@contextmanager
def reader(engine: Engine, *, snapshot: bool = False) -> Iterator[Connection]:
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
