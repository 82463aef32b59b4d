"""A worker process starting up: it opens the governance database and upgrades it, at the
same moment as the others (a barrier), and reports what it found and did."""

from __future__ import annotations

import traceback
from typing import Any

from governance.store import migrations
from governance.store.db import make_engine


def upgrade_at_once(url: str, start: Any, results: Any) -> None:
    engine = make_engine(url)
    try:
        start.wait(timeout=60)
        result = migrations.upgrade(engine)
        results.put((result.before.state, result.changed, result.after.current, None))
    except BaseException:
        results.put((None, None, None, traceback.format_exc()))
    finally:
        engine.dispose()
