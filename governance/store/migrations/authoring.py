"""Writing a new migration: ``python -m governance.store.migrations revision -m "..."``.

The models (``governance/store/records.py``) are compared with a scratch SQLite database
upgraded to the head, and the differences are written as the next revision,
``versions/<NNNN>_<slug>.py`` (``NNNN``: the head's number plus one), in batch operations
that run on SQLite and PostgreSQL. ``--empty`` writes one to fill by hand (a data
migration, a constraint autogenerate cannot see). Review it, then let the tests compare
the head with the models on both backends (``tests/governance/store``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import Script

from governance.store.migrations.runner import (
    _IN_PROCESS,
    _config,
    head_revision,
    upgraded_engine,
)


def new_revision(message: str, autogenerate: bool = True, versions: Path | None = None) -> Path:
    """Write the next revision (into ``versions``, for tests: beside ``versions/``);
    returns its file."""
    number = f"{int(head_revision()) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = upgraded_engine(f"sqlite:///{Path(scratch) / 'head.db'}")
        try:
            with _IN_PROCESS, engine.connect() as conn, conn.begin():
                script = command.revision(
                    _config(conn, versions),
                    message=message,
                    autogenerate=autogenerate,
                    rev_id=number,
                    version_path=None if versions is None else str(versions),
                )
        finally:
            engine.dispose()
    assert isinstance(script, Script)
    return Path(script.path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m governance.store.migrations",
        description="Write a new migration of the governance schema.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser(
        "revision", help="the models' differences from the head, as the next revision"
    )
    revision.add_argument("-m", "--message", required=True, help="what the revision changes")
    revision.add_argument(
        "--empty", action="store_true", help="no autogenerate: a revision to write by hand"
    )
    args = parser.parse_args(argv)
    print(new_revision(args.message, autogenerate=not args.empty))
