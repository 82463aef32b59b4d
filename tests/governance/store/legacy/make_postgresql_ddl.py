"""Run with the code of commit 9cbf637: print the DDL its ``make_engine`` (that is,
``SQLModel.metadata.create_all``) emitted on PostgreSQL, statement by statement, without
a server (SQLAlchemy's mock engine). See README.md."""

from typing import Any

from sqlalchemy import create_mock_engine
from sqlmodel import SQLModel

from governance.store import records  # noqa: F401  (the tables of that code)

statements: list[str] = []


def executor(sql: Any, *_args: Any, **_kwargs: Any) -> None:
    statements.append(str(sql.compile(dialect=engine.dialect)).strip())


engine = create_mock_engine("postgresql+psycopg://", executor)
SQLModel.metadata.create_all(engine, checkfirst=False)
print(";\n\n".join(statements) + ";")
