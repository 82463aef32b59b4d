"""Governance fixtures: a fresh SQLite governance database (its schema migrated to the
head), and PostgreSQL schemas.

PostgreSQL tests run against ``TWINREG_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), each in a fresh schema that is
dropped afterwards. They are skipped when the server is unreachable, except in CI
(``CI`` set), where an unreachable server fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from governance.audit.signing import CheckpointSigner
from governance.store.migrations import upgraded_engine
from tests.conftest import IN_CI

PG_URL = os.environ.get("TWINREG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'governance.db'}"


@pytest.fixture()
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = upgraded_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL URL, once the server has answered."""
    try:
        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {_shown(PG_URL)} is unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL at {_shown(PG_URL)} is unreachable: {exc}")
    return PG_URL


@pytest.fixture()
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema (dropped afterwards)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = pg_url.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_url else "?"
    yield f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture()
def signer() -> CheckpointSigner:
    """A fresh Ed25519 checkpoint signing key."""
    return CheckpointSigner.from_pem(CheckpointSigner.new_pem())


@pytest.fixture(params=["sqlite", "postgresql"])
def both_engine(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Engine]:
    """A migrated governance database on SQLite, then on PostgreSQL (a fresh schema)."""
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else sqlite_url
    built = upgraded_engine(url)
    yield built
    built.dispose()
