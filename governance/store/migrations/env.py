"""Alembic's environment for the governance database: alembic runs it, nothing imports it.

The connection is always given (``config.attributes["connection"]``) by
:mod:`governance.store.migrations.runner`, which has already begun the transaction and
taken the lock: alembic works inside that one transaction, so a migration that fails
leaves the database as it was. There is no offline (SQL script) mode and no URL here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from governance.store.migrations.runner import context_options

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(connection, Connection):
    raise RuntimeError(
        "governance migrations run through governance.store.migrations.upgrade "
        "(twinreg upgrade), with a connection: not from the alembic command line"
    )
context.configure(connection=connection, **context_options())
with context.begin_transaction():
    context.run_migrations()
