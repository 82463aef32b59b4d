"""``without_waiting``: a SQLite write on the event loop never waits for another writer's
lock (issue 13, finding 15); elsewhere writes wait as before."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from governance.audit.chain import AuditLog
from governance.errors import StoreBusy
from governance.store.db import without_waiting
from governance.store.migrations import upgraded_engine


def test_a_write_that_must_not_wait_gives_way_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "governance.db"
    engine = upgraded_engine(f"sqlite:///{path}")
    try:
        audit = AuditLog(engine)
        audit.append("before", {"n": 1})
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with without_waiting(), pytest.raises(StoreBusy):
                audit.append("on the loop", {"n": 2})
            with without_waiting(), pytest.raises(StoreBusy), engine.begin() as conn:
                conn.execute(text("SELECT 1"))  # SQLAlchemy's writers begin IMMEDIATE too
            # a waiting writer (a worker thread) gets the lock once it is released
            done: list[int] = []
            writer = threading.Thread(target=lambda: done.append(audit.append("w", {}).seq))
            writer.start()
            writer.join(timeout=0.5)
            assert writer.is_alive() and not done  # it waits for the lock
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        writer.join(timeout=30)
        assert done == [2]
        # the connection that gave way waits again outside the block
        assert audit.append("after", {}).seq == 3
        assert [r["action"] for r in audit.records()] == ["before", "w", "after"]
        with engine.connect() as conn:
            timeouts = {conn.exec_driver_sql("PRAGMA busy_timeout").scalar() for _ in range(3)}
        assert timeouts == {30000}
    finally:
        engine.dispose()
