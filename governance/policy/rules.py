"""Casbin policy lines in the governance database (the scale path).

``twinreg policy load`` copies ``policies/rbac_policy.csv`` into Casbin's SQLAlchemy
adapter table (``casbin_rule``: ``id`` integer primary key, ``ptype`` and ``v0``..``v5``
strings of up to 255 characters; the ``sqlalchemy-adapter`` distribution, import name
``sqlalchemy_adapter``, creates it when missing and leaves an existing one as it is).
Next to it, ``twinreg_policy_generation`` holds one number, the **generation**, which
database triggers raise in the very transaction that changes a line (whoever changes it:
the CLI, Casbin's adapter, or SQL by hand). On PostgreSQL the same trigger sends
``NOTIFY twinreg_policy``, so the notification is delivered at commit and only if the
change commits (:mod:`governance.policy.watch` listens). A worker compares the
generation, one indexed row, to know whether its lines are current; it re-reads the lines
themselves only when the generation moved.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import sqlalchemy_adapter
from sqlalchemy import Connection, Engine, ScalarSelect, column, create_engine, select, table, text

from governance.errors import PolicyError

Rule = tuple[str, ...]
#: The PostgreSQL channel on which the trigger announces a change of the lines.
CHANNEL = "twinreg_policy"
#: Serialises the installation of the table and triggers by workers starting together.
_INSTALL_LOCK = 0x7477_696E_7267  # "twinrg"
_GENERATION = text("SELECT generation FROM twinreg_policy_generation WHERE id = 1")
_generation_table = table("twinreg_policy_generation", column("id"), column("generation"))
#: The generation as a column of another statement: the release gate reads it in its one
#: facts statement, so that a decision that starts after a change of the lines committed
#: knows that its lines must be re-read (:meth:`PolicyStore.current`).
GENERATION_COLUMN: ScalarSelect[int] = (
    select(_generation_table.c.generation).where(_generation_table.c.id == 1).scalar_subquery()
)
# One statement, so the generation and the lines come from one snapshot on every backend.
_SNAPSHOT = text(
    "SELECT g.generation, r.ptype, r.v0, r.v1, r.v2, r.v3, r.v4, r.v5 "
    "FROM twinreg_policy_generation AS g LEFT JOIN casbin_rule AS r ON 1 = 1 "
    "WHERE g.id = 1 ORDER BY r.id"
)
_INSERT = text(
    "INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) "
    "VALUES (:ptype, :v0, :v1, :v2, :v3, :v4, :v5)"
)
_TABLE = (
    "CREATE TABLE IF NOT EXISTS twinreg_policy_generation "
    "(id INTEGER PRIMARY KEY CHECK (id = 1), generation BIGINT NOT NULL)",
    "INSERT INTO twinreg_policy_generation (id, generation) VALUES (1, 0) "
    "ON CONFLICT (id) DO NOTHING",
)
_POSTGRESQL_TRIGGER = (
    f"""
    CREATE OR REPLACE FUNCTION twinreg_policy_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE twinreg_policy_generation SET generation = generation + 1 WHERE id = 1;
        -- one constant payload: PostgreSQL folds the notifications of one transaction
        PERFORM pg_notify('{CHANNEL}', 'casbin_rule');
        RETURN NULL;
    END $$
    """,
    "CREATE OR REPLACE TRIGGER twinreg_policy_changed "
    "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON casbin_rule "
    "FOR EACH STATEMENT EXECUTE FUNCTION twinreg_policy_changed()",
)
_SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER IF NOT EXISTS twinreg_policy_{event.lower()} AFTER {event} ON casbin_rule "
    "BEGIN UPDATE twinreg_policy_generation SET generation = generation + 1 WHERE id = 1; END"
    for event in ("INSERT", "UPDATE", "DELETE")
)


class DatabaseRules:
    def __init__(self, url: str) -> None:
        logging.getLogger("casbin").setLevel(logging.WARNING)
        self.url = url
        self._engine: Engine = create_engine(url, pool_pre_ping=True)
        self.is_postgresql = self._engine.dialect.name == "postgresql"
        try:
            # Casbin's own adapter on the same engine: it creates ``casbin_rule`` if missing
            self.adapter = sqlalchemy_adapter.Adapter(self._engine)
            with self._engine.begin() as conn:
                self._install(conn)
        except Exception as exc:
            self._engine.dispose()
            raise PolicyError(f"the policy tables cannot be prepared: {exc}") from exc

    def _install(self, conn: Connection) -> None:
        if self.is_postgresql:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INSTALL_LOCK})
        for statement in _TABLE:
            conn.execute(text(statement))
        for statement in _POSTGRESQL_TRIGGER if self.is_postgresql else _SQLITE_TRIGGERS:
            conn.execute(text(statement))

    def generation(self) -> int:
        """The generation stamp: raised by every change of the lines (one indexed row)."""
        try:
            with self._engine.connect() as conn:
                value = conn.execute(_GENERATION).scalar_one()
        except Exception as exc:
            raise PolicyError(f"the policy generation cannot be read: {exc}") from exc
        return int(value)

    def snapshot(self) -> tuple[int, tuple[Rule, ...]]:
        """The generation and every line, in order (empty trailing fields dropped), read
        in one statement so that they belong together."""
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(_SNAPSHOT).all()
        except Exception as exc:
            raise PolicyError(f"policy lines in the database cannot be read: {exc}") from exc
        if not rows:
            raise PolicyError("the policy generation row is missing; run 'twinreg policy load'")
        lines = tuple(
            tuple(str(v) for v in row[1:] if v not in (None, "")) for row in rows if row[1]
        )
        return int(rows[0][0]), lines

    def lines(self) -> tuple[Rule, ...]:
        """Every policy line, in order, with empty trailing fields dropped."""
        return self.snapshot()[1]

    def replace(self, lines: list[Rule]) -> None:
        """Replace every line in one transaction (the triggers raise the generation and,
        on PostgreSQL, notify every listening worker when it commits)."""
        with self._engine.begin() as conn:
            conn.execute(text("DELETE FROM casbin_rule"))
            if not lines:
                return
            conn.execute(
                _INSERT,
                [
                    {
                        "ptype": line[0],
                        **{f"v{i}": (line[i + 1] if i + 1 < len(line) else None) for i in range(6)},
                    }
                    for line in lines
                ],
            )

    def dispose(self) -> None:
        self._engine.dispose()


def read_policy_csv(path: Path) -> list[Rule]:
    """The lines of a Casbin policy CSV (comments and blank lines skipped)."""
    try:
        text_ = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path} cannot be read: {exc}") from exc
    rows = []
    for row in csv.reader(io.StringIO(text_), skipinitialspace=True):
        if not row or row[0].strip().startswith("#"):
            continue
        rows.append(tuple(v.strip() for v in row))
    if not rows:
        raise PolicyError(f"{path} grants nothing")
    return rows
