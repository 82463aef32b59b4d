"""What a governance database's schema is, read from the database's own catalog (not from
SQLAlchemy's reflection), so that two databases can be compared fact by fact: columns
(order, type, nullability, default), indexes, primary, unique and foreign keys, and on
SQLite the statements it keeps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, text

from governance.store.migrations import VERSION_TABLE


def catalog(engine: Engine) -> dict[str, Any]:
    """Every table but the revision's: its columns, indexes and constraints."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return _sqlite(conn)
        return _postgresql(conn)


def _sqlite(conn: Connection) -> dict[str, Any]:
    tables = [
        name
        for (name,) in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        if name != VERSION_TABLE
    ]
    found: dict[str, Any] = {}
    for table in sorted(tables):
        indexes = set()
        for _seq, name, unique, origin, partial in conn.exec_driver_sql(
            f'PRAGMA index_list("{table}")'
        ):
            columns = tuple(row[2] for row in conn.exec_driver_sql(f'PRAGMA index_info("{name}")'))
            # automatic indexes (of PRIMARY KEY and UNIQUE) are named by their position
            indexes.add((name if origin == "c" else origin, unique, columns, partial))
        found[table] = {
            # the statements as SQLite keeps them (constraint names included)
            "sql": sorted(
                (kind, name, sql)
                for kind, name, sql in conn.exec_driver_sql(
                    "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ?", (table,)
                )
            ),
            "columns": [tuple(r) for r in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')],
            "indexes": sorted(indexes),
            "foreign_keys": sorted(
                tuple(r[2:]) for r in conn.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")')
            ),
        }
    return found


def _postgresql(conn: Connection) -> dict[str, Any]:
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    columns = conn.execute(
        text(
            "SELECT table_name, ordinal_position, column_name, data_type, "
            "character_maximum_length, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position"
        )
    ).all()
    indexes = conn.execute(
        text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() ORDER BY tablename, indexname"
        )
    ).all()
    constraints = conn.execute(
        text(
            "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "WHERE k.connamespace = current_schema()::regnamespace "
            "ORDER BY c.relname, k.conname"
        )
    ).all()
    sequences = conn.execute(
        text(
            "SELECT sequence_name, data_type FROM information_schema.sequences "
            "WHERE sequence_schema = current_schema() ORDER BY sequence_name"
        )
    ).all()
    found: dict[str, Any] = {}
    for table, *column in columns:
        if table != VERSION_TABLE:
            found.setdefault(table, {"columns": [], "indexes": [], "constraints": []})
            found[table]["columns"].append(tuple(column))
    for table, name, definition in indexes:
        if table != VERSION_TABLE:
            found[table]["indexes"].append((name, definition.replace(f"{schema}.", "")))
    for table, *constraint in constraints:
        if table != VERSION_TABLE:
            found[table]["constraints"].append(tuple(constraint))
    found["(sequences)"] = [tuple(s) for s in sequences]
    return found
