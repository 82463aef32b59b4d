"""Fixtures of the schema-migration tests: PostgreSQL schemas of their own."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest


@pytest.fixture()
def pg_schemas(pg_url: str) -> Iterator[Callable[[], str]]:
    """Makes fresh PostgreSQL schemas of this test's own (dropped afterwards); returns
    a URL whose connections work in the new schema."""
    plain = pg_url.replace("+psycopg", "")
    made: list[str] = []

    def make() -> str:
        schema = f"t_mig_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        made.append(schema)
        sep = "&" if "?" in pg_url else "?"
        return f"{pg_url}{sep}options=-csearch_path%3D{schema}"

    yield make
    with psycopg.connect(plain, autocommit=True) as conn:
        for schema in made:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
