"""Governance database: engine creation for SQLite (embedded) and PostgreSQL (scale).

SQLite runs in WAL mode with ``synchronous=FULL`` so that a committed audit record
survives a crash; every connection gets the pragmas. The tables are made and kept up to
date by the schema migrations (:mod:`governance.store.migrations`), not here. PostgreSQL
sessions run in UTC.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection

from governance.errors import StoreBusy

#: What a failing governance database raises: SQLAlchemy's errors, and the DB-API's own
#: where statements run on a raw connection (:class:`OneRowRead` and the audit append on
#: SQLite).
STORE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error)


#: How long a SQLite writer waits for another's write lock before "database is locked".
BUSY_TIMEOUT_S = 30

#: Whether SQLite writes in this context may wait for the write lock (the busy timeout).
#: The event loop must never wait (every request of the worker, ``/health`` included,
#: would wait with it): its writes run under :func:`without_waiting`.
_MAY_WAIT: ContextVar[bool] = ContextVar("twinreg_store_may_wait", default=True)


@contextmanager
def without_waiting() -> Iterator[None]:
    """SQLite writes begun in this block take the write lock at once or raise
    :class:`~governance.errors.StoreBusy` (nothing written): the caller, on the event loop,
    then does the work again on a worker thread, where waiting holds up nothing else."""
    token = _MAY_WAIT.set(False)
    try:
        yield
    finally:
        _MAY_WAIT.reset(token)


def _begin_immediate(dbapi: Any) -> None:
    """``BEGIN IMMEDIATE`` on a DB-API connection: waiting for the write lock up to the busy
    timeout, or, under :func:`without_waiting`, not at all (:class:`StoreBusy`)."""
    if _MAY_WAIT.get():
        dbapi.execute("BEGIN IMMEDIATE")
        return
    dbapi.execute("PRAGMA busy_timeout=0")
    try:
        dbapi.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreBusy("another writer holds the governance database's write lock") from exc
        raise
    finally:
        dbapi.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with durability settings (no tables: see
    :func:`governance.store.migrations.prepare` and :func:`~.migrations.upgrade`)."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_S}
    else:
        kwargs["pool_pre_ping"] = True
        if url.startswith("postgresql"):
            # Sessions in UTC: timestamps come back as UTC whatever the server's zone, so
            # one stored at the edge of the range (a consent valid "until the end",
            # 9999-12-31T23:59:59.999999Z) is never shifted past what Python holds.
            given = make_url(url).query.get("options") or ""
            given = given if isinstance(given, str) else " ".join(given)
            kwargs["connect_args"] = {"options": f"{given} -c timezone=UTC".strip()}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let BEGIN IMMEDIATE be issued explicitly by writers (see audit_log).
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is switched off; SQLAlchemy's "begin" event
    # issues BEGIN IMMEDIATE so that a writer holds the lock from its first read.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    _journal_mode_wal(cursor)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # deleted content is overwritten (an erased patient's wrapped key is not left in free pages)
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def _journal_mode_wal(cursor: Any, patience: float = 30.0) -> None:
    """Switch to WAL. On a new file, processes opening it at the same moment (workers
    starting together) can be refused at once, without the busy timeout ("database is
    locked": SQLite avoiding a deadlock); the switch is tried again for ``patience``
    seconds."""
    deadline = time.monotonic() + patience
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


#: Execution option choosing how a SQLite transaction begins. Writers keep the default
#: ``IMMEDIATE`` (the write lock from the first read); pure readers pass
#: ``conn.execution_options(sqlite_begin="DEFERRED")`` so that a long read (audit
#: verification) works on its WAL snapshot without blocking writers.
SQLITE_BEGIN = "sqlite_begin"
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
    if mode not in _BEGIN_MODES:
        raise ValueError(f"{SQLITE_BEGIN} must be one of {sorted(_BEGIN_MODES)}, not {mode!r}")
    if mode == "DEFERRED":
        connection.exec_driver_sql("BEGIN DEFERRED")
        return
    if mode == "IMMEDIATE":
        _begin_immediate(connection.connection.driver_connection)
        return
    connection.exec_driver_sql(f"BEGIN {mode}")


def read_connection(engine: Engine) -> Connection:
    """A connection for reads only: on SQLite it begins DEFERRED and never blocks writers."""
    return engine.connect().execution_options(**{SQLITE_BEGIN: "DEFERRED"})


# -- a caller's transaction ----------------------------------------------------------------
# A service write takes ``conn``: None, and it runs in a transaction of its own, committed
# before it returns; a connection, and it joins that transaction (the caller's: it commits
# or rolls back everything written in it together, e.g. a FHIR transaction Bundle). A
# service writing in a caller's transaction reads on the same connection (it sees what
# the transaction wrote so far) and writes no audit record on any other: a refusal it
# raises there carries no ``audit_id``, and the caller records it after its rollback.


@contextmanager
def joined(engine: Engine, conn: Connection | None) -> Iterator[Connection]:
    """Writes in the caller's transaction ``conn`` (nothing committed here), or in a new
    transaction committed on leaving the block (rolled back on an error)."""
    if conn is not None:
        yield conn
        return
    with engine.begin() as own:
        yield own


@contextmanager
def reading(engine: Engine, conn: Connection | None) -> Iterator[Connection]:
    """Reads on the caller's transaction ``conn`` (it sees what that transaction wrote), or
    on a :func:`read_connection` of their own."""
    if conn is not None:
        yield conn
        return
    with read_connection(engine) as own:
        yield own


# -- the hot path of every request -------------------------------------------------------
#: How SQLAlchemy's SQLite DateTime type stores values (UTC, no offset); raw statements
#: bind datetimes in the same form so that they compare as SQLAlchemy's own would.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def sqlite_datetime(value: datetime) -> str:
    """``value`` as SQLite stores it (aware values converted to UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(SQLITE_DATETIME)


class OneRowRead:
    """A SELECT that returns exactly one row, run on every request: built once.

    On SQLite it is compiled once and run as one autocommit statement on a pooled DB-API
    connection: a single statement reads one consistent snapshot, so it needs neither
    ``BEGIN`` nor ``ROLLBACK``, and it skips SQLAlchemy's per-execution work (together
    about a tenth of a millisecond per read). The connection still comes from the
    engine's pool, so the engine's ``connect`` listeners and ``dispose()`` apply as for
    every other connection. On other databases it runs through SQLAlchemy on a read
    connection (one statement: one snapshot there too).
    """

    def __init__(self, engine: Engine, statement: Select[Any]) -> None:
        self._engine = engine
        self._statement = statement
        self._sqlite = is_sqlite(engine)
        self._sql = ""
        self._names: tuple[str, ...] = ()
        self._defaults: dict[str, Any] = {}
        if self._sqlite:
            compiled = statement.compile(dialect=engine.dialect)
            self._sql = compiled.string
            self._names = tuple(compiled.positiontup or ())
            self._defaults = dict(compiled.params)

    def __call__(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        if not self._sqlite:
            with read_connection(self._engine) as conn:
                return tuple(conn.execute(self._statement, dict(params)).one())
        args = tuple(
            _sqlite_value(params[name] if name in params else self._defaults[name])
            for name in self._names
        )
        raw = self._engine.raw_connection()
        try:
            cursor = raw.driver_connection.execute(self._sql, args)  # type: ignore[union-attr]
            try:
                rows = cursor.fetchall()  # to the end: the statement's snapshot is released
            finally:
                cursor.close()
        finally:
            raw.close()
        if len(rows) != 1:
            raise RuntimeError(f"expected one row, the database returned {len(rows)}")
        return tuple(rows[0])


def _sqlite_value(value: Any) -> Any:
    return sqlite_datetime(value) if isinstance(value, datetime) else value


@contextmanager
def sqlite_write(engine: Engine) -> Iterator[Any]:
    """A write transaction on a pooled SQLite DB-API connection; yields a cursor.

    ``BEGIN IMMEDIATE`` takes the write lock before the first read, ``COMMIT`` is the
    durable commit (WAL, ``synchronous=FULL``: it returns once the WAL is synced); any
    error rolls back and is raised. The cheapest way to one durable commit: no SQLAlchemy
    execution, event or reset work around the three statements.
    """
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        assert dbapi is not None
        _begin_immediate(dbapi)
        try:
            cursor = dbapi.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
            dbapi.execute("COMMIT")
        except BaseException:
            _rollback(raw, dbapi)
            raise
    finally:
        raw.close()


def _rollback(raw: PoolProxiedConnection, dbapi: Any) -> None:
    """Roll back what is left of a failed transaction (a failed COMMIT may have ended it
    already); a connection that cannot roll back is discarded, never reused."""
    try:
        if dbapi.in_transaction:
            dbapi.execute("ROLLBACK")
    except Exception:
        raw.invalidate()
