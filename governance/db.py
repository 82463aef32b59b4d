"""Governance database: engine creation for SQLite (embedded) and PostgreSQL (scale).

SQLite runs in WAL mode with ``synchronous=FULL`` so that a committed audit record
survives a crash; every connection gets the pragmas.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlmodel import SQLModel

from governance import records  # noqa: F401  (registers the tables on the metadata)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with durability settings, and the tables."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let BEGIN IMMEDIATE be issued explicitly by writers (see audit_log).
        event.listen(engine, "begin", _sqlite_begin)
    SQLModel.metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is switched off; SQLAlchemy's "begin" event
    # issues BEGIN IMMEDIATE so that a writer holds the lock from its first read.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
    connection.exec_driver_sql(f"BEGIN {mode}")


def read_connection(engine: Engine) -> Connection:
    """A connection for reads only: on SQLite it begins DEFERRED and never blocks writers."""
    return engine.connect().execution_options(**{SQLITE_BEGIN: "DEFERRED"})
