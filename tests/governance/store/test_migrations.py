"""The governance schema's migrations, on SQLite and PostgreSQL: the head revision is the
models, the baseline revision is exactly what ``create_all`` made before migrations, an
unknown revision or unrecognised tables are refused, foreign tables are left alone, and
workers upgrading together do not fail."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from governance.errors import SchemaBehind, SchemaError, SchemaUnknown
from governance.store import migrations
from governance.store.db import make_engine
from governance.store.migrations import VERSION_TABLE, SchemaUpgrade, baseline
from tests.governance.store.catalog import catalog
from tests.governance.store.legacy_db import make_legacy
from tests.governance.store.upgrade_worker import upgrade_at_once


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes URLs of new, empty databases on either backend."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_schemas")  # type: ignore[no-any-return]
    return lambda: f"sqlite:///{tmp_path / uuid.uuid4().hex[:8]}.db"


def engine_of(request: pytest.FixtureRequest, url: str) -> Engine:
    engine = make_engine(url)
    request.addfinalizer(engine.dispose)
    return engine


def legacy_url(new_url: Callable[[], str]) -> str:
    """A new database as the code before migrations made it (see ``legacy_db``)."""
    url = new_url()
    make_legacy(url)
    return url


def legacy_engine(request: pytest.FixtureRequest, new_url: Callable[[], str]) -> Engine:
    return engine_of(request, legacy_url(new_url))


# -- (a) the head is the models; the baseline is what create_all made --------------------
def test_the_head_revision_creates_exactly_the_models(
    request: pytest.FixtureRequest, new_url: Callable[[], str]
) -> None:
    engine = engine_of(request, new_url())
    assert migrations.status(engine).state == "empty"
    result = migrations.upgrade(engine)
    assert result.before.state == "empty" and result.after.current
    assert result.after.revision == migrations.head_revision()
    with engine.connect() as conn:
        assert migrations.differences(conn, SQLModel.metadata) == []
        tables = set(inspect(conn).get_table_names())
    assert tables == set(SQLModel.metadata.tables) | {VERSION_TABLE}


def test_the_baseline_revision_is_what_create_all_made_before_migrations(
    request: pytest.FixtureRequest, new_url: Callable[[], str]
) -> None:
    """Fact by fact from the database's own catalog: columns in order with their types,
    nullability and defaults (PostgreSQL's SERIAL sequences), indexes, keys."""
    legacy = legacy_engine(request, new_url)
    fresh = engine_of(request, new_url())
    assert migrations.upgrade(fresh, baseline.REVISION).after.revision == baseline.REVISION
    assert catalog(fresh) == catalog(legacy)
    assert set(catalog(legacy)) - {"(sequences)"} == baseline.TABLES
    for engine in (legacy, fresh):
        with engine.connect() as conn:
            assert migrations.differences(conn, baseline.METADATA) == []


def test_a_database_made_before_migrations_is_recognised_stamped_and_upgraded(
    request: pytest.FixtureRequest, new_url: Callable[[], str]
) -> None:
    legacy = legacy_engine(request, new_url)
    before = catalog(legacy)
    assert migrations.status(legacy).state == "unversioned"
    result = migrations.upgrade(legacy)
    assert result.upgraded and result.before.state == "unversioned"
    assert result.after.current
    assert "made by twinreg before schema migrations" in result.describe()
    with legacy.connect() as conn:
        assert migrations.differences(conn, SQLModel.metadata) == []
    if migrations.head_revision() == baseline.REVISION:
        assert catalog(legacy) == before  # stamped only: nothing else changed
    again = migrations.upgrade(legacy)
    assert not again.changed and again.describe().startswith("governance schema already at")


# -- refusals -------------------------------------------------------------------------
def test_an_unknown_newer_revision_is_refused(
    request: pytest.FixtureRequest, new_url: Callable[[], str]
) -> None:
    engine = engine_of(request, new_url())
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'f00dcafe'"))
    for attempt in (migrations.upgrade, migrations.prepare):
        with pytest.raises(SchemaUnknown) as caught:
            attempt(engine)
        message = str(caught.value)
        assert "f00dcafe" in message and "does not know" in message
        assert "newer twinreg" in message and "restore the backup" in message
    status = migrations.prepare(engine, "inspect").after  # reported on, left alone
    assert status.state == "unknown" and status.revision == "f00dcafe"
    assert migrations.status(engine).revision == "f00dcafe"


def test_an_older_schema_is_refused_where_only_the_head_will_do(
    request: pytest.FixtureRequest, new_url: Callable[[], str]
) -> None:
    legacy = legacy_engine(request, new_url)
    with pytest.raises(SchemaBehind, match="back up the database, then run 'twinreg upgrade'"):
        migrations.prepare(legacy, "require")
    assert migrations.prepare(legacy, "inspect") == SchemaUpgrade(
        migrations.status(legacy), migrations.status(legacy)
    )
    assert migrations.status(legacy).state == "unversioned"
    assert migrations.prepare(legacy, "upgrade").after.current


def test_twinreg_tables_that_are_not_the_baseline_are_refused_and_left_alone(
    request: pytest.FixtureRequest, new_url: Callable[[], str]
) -> None:
    legacy = legacy_engine(request, new_url)
    with legacy.begin() as conn:
        conn.execute(text("DROP INDEX ix_patient_site"))
        conn.execute(text("ALTER TABLE consent ADD COLUMN note VARCHAR(10)"))
    before = catalog(legacy)
    with pytest.raises(SchemaError) as caught:
        migrations.upgrade(legacy)
    assert type(caught.value) is SchemaError
    message = str(caught.value)
    assert "missing index ix_patient_site" in message
    assert "unexpected column consent.note" in message
    assert "without a schema revision" in message
    assert catalog(legacy) == before
    with legacy.connect() as conn:
        assert not inspect(conn).has_table(VERSION_TABLE)


def test_tables_that_are_not_twinregs_are_left_alone(
    request: pytest.FixtureRequest, new_url: Callable[[], str]
) -> None:
    """Casbin's policy table and MLflow's revision table (when it shares the database)
    neither make a database "made before migrations" nor stand in the way."""
    engine = engine_of(request, new_url())
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE casbin_rule (id INTEGER PRIMARY KEY, ptype VARCHAR(8))"))
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('mlflow-rev')"))
    assert migrations.status(engine).state == "empty"
    assert migrations.upgrade(engine).after.current
    with engine.connect() as conn:
        assert migrations.differences(conn, SQLModel.metadata) == []
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [
            ("mlflow-rev",)
        ]
        assert inspect(conn).has_table("casbin_rule")


# -- (d) workers starting together ----------------------------------------------------
@pytest.mark.parametrize("legacy", [False, True], ids=["new", "made-before-migrations"])
def test_workers_upgrading_together_migrate_once_and_none_fails(
    request: pytest.FixtureRequest, new_url: Callable[[], str], legacy: bool
) -> None:
    """Separate processes, like server workers starting together, each upgrading the
    same database at the same moment: one migrates, the others wait for its lock and
    find the head."""
    url = legacy_url(new_url) if legacy else new_url()
    workers = 3
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(workers)
    results = spawn.Queue()
    processes = [
        spawn.Process(target=upgrade_at_once, args=(url, start, results)) for _ in range(workers)
    ]
    for p in processes:
        p.start()
    found = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=60)
    assert [error for *_, error in found] == [None] * workers
    assert sorted(changed for _, changed, _, _ in found) == [False] * (workers - 1) + [True]
    assert {before for before, changed, _, _ in found if changed} == {
        "unversioned" if legacy else "empty"
    }
    assert all(current for _, _, current, _ in found)
    engine = engine_of(request, url)
    with engine.connect() as conn:
        assert migrations.differences(conn, SQLModel.metadata) == []
        assert conn.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar_one() == 1


def test_threads_upgrading_together_do_not_fail(
    request: pytest.FixtureRequest, new_url: Callable[[], str]
) -> None:
    url = new_url()
    engines = [engine_of(request, url) for _ in range(3)]
    start = threading.Barrier(len(engines))
    results: list[SchemaUpgrade] = []
    errors: list[BaseException] = []

    def work(engine: Engine) -> None:
        try:
            start.wait()
            results.append(migrations.upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(results) == len(engines)
    assert sum(r.changed for r in results) == 1 and all(r.after.current for r in results)
