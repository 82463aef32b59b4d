"""Bringing the governance database's schema to this code's revision (Alembic, from code).

One :func:`upgrade` handles every database it may meet, inside one transaction that
holds the migration lock (``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE``
on SQLite), so that workers starting together cannot both migrate, and a migration that
fails leaves the database as it was:

- no twinreg table: every migration runs (a new home);
- twinreg's tables but no schema revision (made by twinreg before migrations): the
  tables must be exactly those of :mod:`.baseline`; the database is stamped as the
  baseline revision, then upgraded;
- an older revision: the later migrations run;
- a revision this code does not know (a newer twinreg upgraded it): :class:`SchemaUnknown`.

Tables that are not twinreg's (Casbin's ``casbin_rule``, MLflow's when it shares the
database) are left alone; the revision is kept in :data:`VERSION_TABLE`, not in
``alembic_version``, which MLflow uses.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text
from sqlmodel import SQLModel

from governance.errors import SchemaBehind, SchemaError, SchemaUnknown
from governance.store import records  # noqa: F401  (registers the tables on the metadata)
from governance.store.db import make_engine, read_connection
from governance.store.migrations import baseline

#: The table holding the revision (MLflow keeps its own in ``alembic_version``).
VERSION_TABLE = "governance_schema_version"
#: Where the environment, the template and ``versions/`` live (shipped as package data).
LOCATION = Path(__file__).resolve().parent
#: The PostgreSQL advisory lock held while the schema is checked and migrated.
_LOCK = 0x7477_6D69_6772  # "twmigr"
#: Alembic's ``context`` and ``op`` are process globals: one migration at a time per
#: process (the database's lock orders the processes).
_IN_PROCESS = threading.Lock()

State = Literal["empty", "unversioned", "behind", "current", "unknown"]
#: What opening a database does about its schema: ``require`` creates a new one and
#: refuses an older one, ``upgrade`` upgrades an older one, ``inspect`` creates a new
#: one and leaves any other as it is (to report on it).
Mode = Literal["require", "upgrade", "inspect"]


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against this code's head revision."""

    state: State
    revision: str | None
    head: str

    @property
    def current(self) -> bool:
        return self.state == "current"

    def describe(self) -> str:
        """The revision in words, e.g. ``0001 (current)``."""
        return {
            "empty": "none (an empty database)",
            "unversioned": "none (made by twinreg before schema migrations)",
            "behind": f"{self.revision} (behind {self.head})",
            "current": f"{self.revision} (current)",
            "unknown": f"{self.revision} (unknown to this twinreg; it knows up to {self.head})",
        }[self.state]


@dataclass(frozen=True)
class SchemaUpgrade:
    """The status before and after opening (or upgrading) a database."""

    before: SchemaStatus
    after: SchemaStatus

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def upgraded(self) -> bool:
        """An existing database was migrated (not a new one created)."""
        return self.changed and self.before.state in ("unversioned", "behind")

    def describe(self) -> str:
        """One line: from which revision to which, or that there was nothing to do."""
        if not self.changed:
            return f"governance schema already at {self.after.describe()}"
        return f"governance schema upgraded from {self.before.describe()} to {self.after.revision}"


def head_revision() -> str:
    """The revision this code works with."""
    return _script().get_current_head() or ""


def status(engine: Engine) -> SchemaStatus:
    """Where ``engine``'s schema stands (reads only, takes no lock)."""
    with read_connection(engine) as conn:
        return _status(conn)


def upgrade(engine: Engine, target: str = "head") -> SchemaUpgrade:
    """Bring the schema to the head revision (see the module's docstring); refuses a
    revision it does not know and twinreg tables it does not recognise. (``target``, an
    earlier revision, is for the tests of a migration: the database is then behind.)

    ``engine`` comes from :func:`~governance.store.db.make_engine` (on SQLite, its
    transactions begin ``IMMEDIATE``: the write lock is held from the first check).
    """
    with _IN_PROCESS, engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        before = _status(conn)
        if before.state == "unknown":
            raise SchemaUnknown(_unknown(before))
        if before.state == "unversioned":
            _require_baseline(conn)
            command.stamp(_config(conn), baseline.REVISION)
        if before.state != "current":
            command.upgrade(_config(conn), target)
        after = _status(conn)
    return SchemaUpgrade(before, after)


def prepare(engine: Engine, mode: Mode = "require") -> SchemaUpgrade:
    """What opening a home does to its governance database (see :data:`Mode`)."""
    before = status(engine)
    if before.current or (mode == "inspect" and before.state != "empty"):
        return SchemaUpgrade(before, before)
    if before.state == "unknown":
        raise SchemaUnknown(_unknown(before))
    if before.state != "empty" and mode == "require":
        raise SchemaBehind(
            f"the governance database's schema revision is {before.describe()}; this "
            f"twinreg needs {before.head}: back up the database, then run 'twinreg upgrade'"
        )
    return upgrade(engine)


def upgraded_engine(url: str) -> Engine:
    """:func:`~governance.store.db.make_engine` with the schema brought to the head: for
    tools and tests that open a database of their own."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def differences(conn: Connection, metadata: MetaData) -> list[Any]:
    """Alembic's differences between the database and ``metadata`` (tables, columns,
    types, nullability, indexes, unique and foreign-key constraints), over the tables of
    ``metadata`` only: others (Casbin's, MLflow's) are not compared."""

    def ours(name: str | None, kind: str, _parent: Any) -> bool:
        return kind != "table" or name in metadata.tables

    context = MigrationContext.configure(
        conn,
        opts={"compare_type": True, "include_name": ours, "version_table": VERSION_TABLE},
    )
    return list(compare_metadata(context, metadata))


def context_options() -> dict[str, Any]:
    """How ``env.py`` configures alembic's context (besides the connection)."""
    return {
        "target_metadata": SQLModel.metadata,
        "version_table": VERSION_TABLE,
        # ALTERs become batch operations: SQLite rebuilds the table, PostgreSQL alters it
        "render_as_batch": True,
        "compare_type": True,
    }


def _config(conn: Connection | None = None, versions: Path | None = None) -> Config:
    """Alembic's configuration, from code; ``versions``, a folder beside ``versions/``,
    is for the tests of authoring a revision."""
    config = Config(attributes={"connection": conn})
    config.set_main_option("script_location", str(LOCATION))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if versions is not None:
        config.set_main_option("path_separator", "os")
        config.set_main_option(
            "version_locations", os.pathsep.join([str(LOCATION / "versions"), str(versions)])
        )
    return config


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(script.revision for script in _script().walk_revisions())


def _status(conn: Connection) -> SchemaStatus:
    head = head_revision()
    heads = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE}
    ).get_current_heads()
    if not heads:
        ours = baseline.TABLES & set(inspect(conn).get_table_names())
        return SchemaStatus("unversioned" if ours else "empty", None, head)
    revision = ",".join(heads)
    if len(heads) > 1 or heads[0] not in _known():
        return SchemaStatus("unknown", revision, head)
    return SchemaStatus("current" if revision == head else "behind", revision, head)


def _unknown(status: SchemaStatus) -> str:
    return (
        f"the governance database is at schema revision {status.revision}, which this "
        f"twinreg does not know (it knows revisions up to {status.head}): a newer twinreg "
        "upgraded it; run that version, or restore the backup taken before that upgrade"
    )


def _require_baseline(conn: Connection) -> None:
    found = differences(conn, baseline.METADATA)
    if found:
        shown = "; ".join(_difference(d) for d in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise SchemaError(
            "the governance database holds twinreg tables without a schema revision, but "
            f"they are not those twinreg made before schema migrations: {shown}{more}; "
            "open it with the twinreg that made it, or restore a backup of it"
        )


_KINDS = {"add": "missing", "remove": "unexpected", "modify": "different"}


def _difference(diff: Any) -> str:
    """One alembic difference in words, e.g. ``missing table consent``."""
    if isinstance(diff, list):  # column modifications come as a list of tuples
        diff = diff[0]
    kind, _, what = str(diff[0]).partition("_")
    names = [
        str(name)
        for part in diff[1:]
        if isinstance(part, str) or hasattr(part, "name")
        if (name := getattr(part, "name", part))
    ]
    return f"{_KINDS.get(kind, kind)} {what} {'.'.join(names)}".strip()
