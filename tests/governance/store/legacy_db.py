"""Governance databases as the code before schema migrations (commit 9cbf637) made them:
see ``legacy/README.md``."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from governance.store.db import make_engine
from governance.store.migrations import baseline

LEGACY = Path(__file__).resolve().parent / "legacy"
#: The governance database of a home made by that code's demo (and ``make_writes.py``).
SQLITE = LEGACY / "governance-9cbf637.db"
#: That home's secrets (the pseudonym key finds its patients).
SECRETS = LEGACY / "secrets-9cbf637.json"
#: The DDL that code's ``create_all`` emitted on PostgreSQL.
POSTGRESQL = LEGACY / "governance-9cbf637.postgresql.sql"
#: Records in the audit chain of :data:`SQLITE`.
AUDIT_RECORDS = 55
#: PostgreSQL's SERIAL columns of that schema.
_SERIALS = (("model_version", "id"), ("transition", "id"), ("audit_record", "seq"))
_SERIALS += (("revoked_token", "id"),)


def make_legacy(url: str, rows: bool = False) -> None:
    """Make the database at ``url`` (a new SQLite file, or an empty PostgreSQL schema) as
    that code made it: on SQLite a copy of :data:`SQLITE` (with its rows); on PostgreSQL
    the tables from :data:`POSTGRESQL` and, if ``rows``, the rows of :data:`SQLITE`."""
    if url.startswith("sqlite"):
        shutil.copy(SQLITE, url.removeprefix("sqlite:///"))
        return
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for statement in POSTGRESQL.read_text().split(";\n\n"):
                conn.exec_driver_sql(statement.strip().rstrip(";"))
            if rows:
                for table, found in _sqlite_rows().items():
                    if found:
                        conn.execute(baseline.METADATA.tables[table].insert(), found)
                for table, column in _SERIALS:  # as inserting through the sequence would
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                            f"(SELECT max({column}) FROM {table}))"
                        )
                    )
    finally:
        engine.dispose()


def _sqlite_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of :data:`SQLITE` by table, in foreign-key order; its times (stored as
    UTC without an offset, as SQLAlchemy stores them on SQLite) made aware."""
    engine = create_engine(f"sqlite:///file:{SQLITE}?mode=ro&immutable=1&uri=true")
    try:
        with engine.connect() as conn:
            return {
                table.name: [
                    {k: _aware(v) for k, v in row._mapping.items()}
                    for row in conn.execute(table.select())
                ]
                for table in baseline.METADATA.sorted_tables
            }
    finally:
        engine.dispose()


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
