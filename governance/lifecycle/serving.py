"""What the prediction path reads of the lifecycle, cached per governance generation.

Every prediction needs the model's approved version and the time of that version's latest
passing bias audit. Both are cached under the *generation*: a stamp that changes whenever
a lifecycle transition or a bias audit is committed, read in one cheap query (or by the
release gate with its other facts). A worker process whose stamp differs from the
database's drops its cache, so a committed transition applies to the next request in
every process. :class:`~governance.lifecycle.versions.Lifecycle` owns one,
as ``lifecycle.serving``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, bindparam, func, select

from governance.clock import as_utc
from governance.policy.store import PolicyStore
from governance.store.db import read_connection
from governance.store.records import BiasAudit, Transition

if TYPE_CHECKING:  # lifecycle imports this module
    from governance.lifecycle.versions import VersionState

_tr = Transition.__table__  # type: ignore[attr-defined]
_ba = BiasAudit.__table__  # type: ignore[attr-defined]

# Statements on the prediction path are built once (SQLAlchemy caches their compilation).
#: Changes whenever a lifecycle transition or a bias audit is committed: the key of the
#: serving cache, so the prediction path reads one row instead of re-resolving. Both tables
#: are append-only, so their row counts only grow (counts, not ``max(id)``: PostgreSQL
#: draws ids before commit, so a later commit may carry a smaller id). The columns are
#: public so that the release gate can read them in the same statement as its other facts.
GENERATION_COLUMNS = (
    select(func.count()).select_from(_tr).scalar_subquery().label("transitions"),
    select(func.count()).select_from(_ba).scalar_subquery().label("bias_audits"),
)
_GENERATION = select(*GENERATION_COLUMNS)
#: A value of :data:`GENERATION_COLUMNS`.
Generation = tuple[int, int]
_LATEST_AUDIT = (
    select(_ba.c.passed, _ba.c.at)
    .where(_ba.c.model == bindparam("model"), _ba.c.version == bindparam("version"))
    .order_by(_ba.c.at.desc())
    .limit(1)
)


class ServingState:
    """The approved version and latest passing bias audit of each model, cached per
    generation; ``approved_version`` reads a model's approved version (uncached)."""

    def __init__(
        self,
        engine: Engine,
        policies: PolicyStore,
        approved_version: Callable[[str, Connection | None], VersionState | None],
    ) -> None:
        self._engine = engine
        self._policies = policies
        self._approved_version = approved_version
        self._generation: tuple[int, int] | None = None
        self._serving: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    def latest_passing_audit_at(
        self, model: str, version: str, conn: Connection | None = None
    ) -> datetime | None:
        """Time of the newest bias audit on file, if it passed (a newer failure voids it)."""
        row = first_row(self._engine, _LATEST_AUDIT, conn, {"model": model, "version": version})
        if row is None or not row.passed:
            return None
        return as_utc(row.at)

    def generation(self, conn: Connection | None = None) -> Generation:
        """The current :data:`GENERATION_COLUMNS` (one row)."""
        return generation_of(first_row(self._engine, _GENERATION, conn))

    def _serving_cache(
        self, conn: Connection | None, generation: Generation | None
    ) -> dict[tuple[str, str | None], Any]:
        """The cache for ``generation`` (read now when not given). Entries are read after
        their generation was, so they are never older than the generation they sit under."""
        if generation is None:
            generation = self.generation(conn)
        with self._lock:
            if generation != self._generation:
                self._generation, self._serving = generation, {}
            return self._serving

    def serving_version(
        self, model: str, conn: Connection | None = None, generation: Generation | None = None
    ) -> VersionState | None:
        """The approved version, from a cache keyed on the governance generation: one
        cheap query per request (none when the caller read ``generation`` already with
        its other facts), and a committed transition applies to the next request."""
        cache = self._serving_cache(conn, generation)
        key = (model, None)
        if key not in cache:
            cache[key] = self._approved_version(model, conn)
        state: VersionState | None = cache[key]
        return state

    def serving_audit_at(
        self,
        model: str,
        version: str,
        conn: Connection | None = None,
        generation: Generation | None = None,
    ) -> datetime | None:
        """:meth:`latest_passing_audit_at`, from the same cache as :meth:`serving_version`."""
        cache = self._serving_cache(conn, generation)
        key = (f"audit:{model}", version)
        if key not in cache:
            cache[key] = self.latest_passing_audit_at(model, version, conn)
        at: datetime | None = cache[key]
        return at

    def audit_is_current(
        self,
        model: str,
        version: str,
        now: datetime,
        conn: Connection | None = None,
        at: datetime | None = None,
    ) -> tuple[bool, str]:
        """Whether a passing bias audit (``at``, read when not given) is young enough, and why."""
        max_age = self._policies.current().bias_audit_max_age_days
        if at is None:
            at = self.latest_passing_audit_at(model, version, conn)
        if at is None:
            return False, "no passing bias audit on file for this version"
        if now - at > timedelta(days=max_age):
            return False, (
                f"the passing bias audit of {iso_utc(at)} is older than the "
                f"policy's maximum age of {max_age:g} days"
            )
        return True, f"passing bias audit of {iso_utc(at)}"


def generation_of(row: Any) -> Generation:
    """A row of :data:`GENERATION_COLUMNS` (leading columns) as a :data:`Generation`."""
    return (int(row[0]), int(row[1]))


def first_row(
    engine: Engine, stmt: Any, conn: Connection | None, params: dict[str, Any] | None = None
) -> Any:
    """The first row of ``stmt`` on ``conn``, or on a read connection of its own."""
    if conn is not None:
        return conn.execute(stmt, params or {}).first()
    with read_connection(engine) as c:
        return c.execute(stmt, params or {}).first()


def iso_utc(value: datetime) -> str:
    """A UTC time in ISO 8601, ``Z`` for ``+00:00``."""
    return value.isoformat().replace("+00:00", "Z")
