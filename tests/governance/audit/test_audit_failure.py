"""A failed audit write raises AuditWriteError and leaves nothing behind."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, event

from governance.audit.chain import AuditLog
from governance.audit.verify import verify
from governance.errors import AuditWriteError
from governance.store.db import make_engine
from governance.store.migrations import upgraded_engine


def engine_with_pragma(url: str, pragma: str) -> Engine:
    """An engine whose every connection also runs ``pragma`` (set before first use)."""
    engine = make_engine(url)
    engine.dispose()

    def apply(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(pragma)

    event.listen(engine, "connect", apply)
    return engine


def test_a_full_disk_fails_the_write_and_stores_nothing(sqlite_url: str) -> None:
    engine = upgraded_engine(sqlite_url)
    AuditLog(engine).append("predict", {"i": 0})
    with engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
        conn.commit()
    engine.dispose()
    full = engine_with_pragma(sqlite_url, f"PRAGMA max_page_count = {pages}")
    try:
        log = AuditLog(full)
        with pytest.raises(AuditWriteError, match="full"):
            log.append("predict", {"blob": "x" * 200_000})
        assert log.count() == 1
        assert verify(full).ok
    finally:
        full.dispose()
    # Once there is room again the chain simply continues.
    roomy = make_engine(sqlite_url)
    try:
        assert AuditLog(roomy).append("predict", {"blob": "x" * 200_000}).seq == 2
        assert verify(roomy).count == 2
    finally:
        roomy.dispose()


def test_a_read_only_database_fails_the_write(sqlite_url: str) -> None:
    # (Tests may run as root, which ignores file permissions: query_only is SQLite's own
    # read-only switch.)
    upgraded_engine(sqlite_url).dispose()
    engine = engine_with_pragma(sqlite_url, "PRAGMA query_only = ON")
    try:
        log = AuditLog(engine)
        with pytest.raises(AuditWriteError, match="readonly"):
            log.append("predict", {"i": 1})
        assert log.count() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "payload",
    [
        {"x": math.nan},
        {"x": [1, {"y": math.inf}]},
        {"when": datetime(2026, 1, 1)},  # naive
        {"n": np.int64(3)},
        {"s": {1, 2}},
        {1: "non-string key"},
        {"b": b"bytes"},
    ],
)
def test_a_non_canonical_payload_is_refused(sqlite_engine: Engine, payload: Any) -> None:
    log = AuditLog(sqlite_engine)
    with pytest.raises(AuditWriteError, match="nothing was stored"):
        log.append("predict", payload)
    assert log.count() == 0


@pytest.mark.parametrize("action", ["", "x" * 65])
def test_a_bad_action_is_refused(sqlite_engine: Engine, action: str) -> None:
    with pytest.raises(AuditWriteError, match="action"):
        AuditLog(sqlite_engine).append(action, {})
    assert AuditLog(sqlite_engine).count() == 0


def test_a_payload_that_is_not_a_mapping_is_refused(sqlite_engine: Engine) -> None:
    with pytest.raises(AuditWriteError):
        AuditLog(sqlite_engine).append("predict", [1, 2])  # type: ignore[arg-type]


def test_an_unreachable_database_fails_the_write(tmp_path: Any) -> None:
    engine = upgraded_engine(f"sqlite:///{tmp_path / 'g.db'}")
    engine.dispose()
    (tmp_path / "g.db").unlink()
    (tmp_path / "g.db").mkdir()  # the path is now a directory: nothing can be opened
    with pytest.raises(AuditWriteError):
        AuditLog(engine).append("predict", {"i": 1})
