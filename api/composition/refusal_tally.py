"""Refused credentials beyond an address's limit, audited as one record per window.

A flood of bad tokens from one address would otherwise write one chained record per
request. Past the limit (:mod:`api.http.refusal_limit`) each refusal only adds one to its
address's tally here; the tally is written as one ``auth.refused.throttled`` record —
address, count, first and last refusal, the routes tried — when its window ends (a
background thread looks every second), when the server stops, or at once when more
addresses are pending than :data:`MAX_PENDING` (so memory stays bounded).

A tally whose record cannot be written (the audit log unavailable) is kept and tried
again on the next round; it is never dropped silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from governance.canonical import iso_utc
from governance.clock import utcnow

THROTTLED = "auth.refused.throttled"
#: Addresses whose tallies are held at once before all are written.
MAX_PENDING = 10_000
#: Distinct routes named per record; the rest are counted under "other".
MAX_ROUTES = 20
_log = logging.getLogger("twinreg.audit.refusals")

Append = Callable[[str, Mapping[str, Any]], object]


@dataclass
class _Tally:
    ends: float  # monotonic time at which the window ends
    first: datetime
    last: datetime
    count: int = 0
    routes: Counter[str] = field(default_factory=Counter)


class RefusalTally:
    """Counts the throttled refusals of each address and writes one record per window."""

    def __init__(self, append: Append, limit: int) -> None:
        self._append = append
        self.limit = limit
        self._pending: dict[str, _Tally] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, address: str, route: str, seconds_left: float) -> None:
        """One more refusal from ``address`` whose window ends in ``seconds_left``."""
        now, at = time.monotonic(), utcnow()
        with self._lock:
            tally = self._pending.get(address)
            if tally is None:
                tally = self._pending[address] = _Tally(now + seconds_left, at, at)
            tally.count += 1
            tally.last = at
            known = route in tally.routes or len(tally.routes) < MAX_ROUTES
            tally.routes[route if known else "other"] += 1
            overfull = len(self._pending) > MAX_PENDING
        if overfull:
            self.flush_all()

    def flush_due(self, after_seconds: float = 0.0) -> int:
        """Write the tallies whose window has ended (``after_seconds`` from now); returns
        how many records were written."""
        deadline = time.monotonic() + after_seconds
        return self._write(lambda tally: tally.ends <= deadline)

    def flush_all(self) -> int:
        return self._write(lambda _tally: True)

    def _write(self, due: Callable[[_Tally], bool]) -> int:
        with self._lock:
            ready = {a: t for a, t in self._pending.items() if due(t)}
            for address in ready:
                del self._pending[address]
        written = 0
        for address, tally in ready.items():
            try:
                self._append(THROTTLED, self._payload(address, tally))
                written += 1
            except Exception as exc:  # the audit log is down: keep the tally for later
                _log.error("the tally of refused credentials could not be written: %s", exc)
                with self._lock:
                    self._pending.setdefault(address, tally)
        return written

    def _payload(self, address: str, tally: _Tally) -> dict[str, Any]:
        return {
            "client": address,
            "count": tally.count,
            "first_at": iso_utc(tally.first),
            "last_at": iso_utc(tally.last),
            "routes": dict(sorted(tally.routes.items())),
            "reason": f"credentials refused beyond {self.limit} per minute from this "
            "address: answered 429, tallied in this one record",
        }

    # -- the thread -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="twinreg-refusals", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write every pending tally (graceful shutdown)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            thread.join()
        self.flush_all()

    def _run(self) -> None:
        while not self._stopping.wait(1.0):
            self.flush_due()
