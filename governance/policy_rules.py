"""Casbin policy lines in the governance database (the scale path).

``twinreg policy load`` copies ``policies/rbac_policy.csv`` into Casbin's SQLAlchemy
adapter table; every API worker's :class:`~governance.policy.PolicyStore` re-reads the
lines when they change (it compares them at most every half second: the watcher), so an
edit made once binds every worker on its next request, without a restart.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import casbin_sqlalchemy_adapter
from sqlalchemy import Engine, create_engine, text

from governance.errors import PolicyError

Rule = tuple[str, ...]
_SELECT = text("SELECT ptype, v0, v1, v2, v3, v4, v5 FROM casbin_rule ORDER BY id")


class DatabaseRules:
    def __init__(self, url: str) -> None:
        logging.getLogger("casbin").setLevel(logging.WARNING)
        self.url = url
        self.adapter = casbin_sqlalchemy_adapter.Adapter(url)  # creates the table
        self._engine: Engine = create_engine(url)

    def lines(self) -> tuple[Rule, ...]:
        """Every policy line, in order, with empty trailing fields dropped."""
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(_SELECT).all()
        except Exception as exc:
            raise PolicyError(f"policy lines in the database cannot be read: {exc}") from exc
        return tuple(tuple(str(v) for v in row if v not in (None, "")) for row in rows)

    def replace(self, lines: list[Rule]) -> None:
        """Replace every line in one transaction."""
        with self._engine.begin() as conn:
            conn.execute(text("DELETE FROM casbin_rule"))
            for line in lines:
                values = {f"v{i}": (line[i + 1] if i + 1 < len(line) else None) for i in range(6)}
                conn.execute(
                    text(
                        "INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) "
                        "VALUES (:ptype, :v0, :v1, :v2, :v3, :v4, :v5)"
                    ),
                    {"ptype": line[0], **values},
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
