"""The server's own checkpoints: a background thread that signs the chain's head.

A checkpoint is due when the head is ``every_records`` records past the latest checkpoint
in the file, or when records were added and the latest checkpoint is ``every_seconds``
old (an idle chain gets no new checkpoint: the last one still covers all of it). On a
graceful stop the head is signed once more if it moved, so a stopped server leaves its
whole chain covered.

The hot path only calls :meth:`CheckpointWriter.appended` (after the commit, outside the
chain's lock): a comparison, and an event set when the record count crossed the next
``every_records``. The thread does the rest — reading the latest checkpoint and the head,
signing, appending and fsync'ing — under the file's lock
(:func:`governance.audit.checkpoints.checkpoint_if_due`), so several workers (processes)
sharing one home write to one file without corrupting it and without signing the same
moment twice: whoever takes the lock first writes, the others see its line and wait for
the next one that is due.

A failure (database unreachable, disk full, a chain that contradicts the latest
checkpoint) is logged and shown by :meth:`state` (``/health``); it never reaches a
request. The next attempt comes with the next wake-up or period.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from governance.audit.checkpoints import checkpoint_if_due
from governance.audit.signing import CheckpointSigner
from governance.audit.verify import Checkpoint
from governance.canonical import iso_utc
from governance.clock import utcnow

_log = logging.getLogger("twinreg.audit.checkpoints")


class CheckpointWriter:
    """Writes signed checkpoints of the chain on ``engine`` to ``path`` by itself."""

    def __init__(
        self,
        engine: Engine,
        path: Path,
        signer: CheckpointSigner,
        every_records: int = 1000,
        every_seconds: float = 60.0,
    ) -> None:
        if every_records < 1 or not 0 < every_seconds < float("inf"):
            raise ValueError("checkpoints are due after at least 1 record and > 0 seconds")
        self._engine = engine
        self.path = path
        self.signer = signer
        self.every_records = every_records
        self.every_seconds = every_seconds
        #: The count of the latest checkpoint this process knows of (its own or another's).
        self._covered = 0
        #: When the writer began: the time trigger's start while the file has no checkpoint.
        self._since = utcnow()
        self._next = self._since + timedelta(seconds=every_seconds)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one round at a time in this process
        self._state = "none written yet"

    # -- the hot path ---------------------------------------------------------------------
    def appended(self, seq: int) -> None:
        """The chain reached ``seq``: wake the thread once ``every_records`` are uncovered."""
        if seq - self._covered >= self.every_records:
            self._wake.set()

    # -- the thread -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread (once); the server calls it at start-up."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name="twinreg-audit-checkpoints", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and sign the head once more if it moved (graceful shutdown)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        thread.join()
        self._round(final=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(max(0.0, (self._next - utcnow()).total_seconds()))
            self._wake.clear()
            if self._stopping.is_set():
                return
            if not self._round():  # no retry at every append: wait a period first
                self._stopping.wait(self.every_seconds)
                self._wake.clear()

    # -- one round ------------------------------------------------------------------------
    def run_once(self, *, final: bool = False) -> Checkpoint | None:
        """Write a checkpoint if one is due now (``final``: if the head moved at all);
        returns it, or None. Errors propagate (the thread logs them instead)."""
        with self._lock:
            now = utcnow()
            heads: list[int] = []

            def due(latest: Checkpoint | None, head: tuple[int, str]) -> bool:
                heads.append(head[0])
                base = 0 if latest is None else latest.count
                since = self._since if latest is None else latest.at
                if head[0] <= base:
                    return False
                if final or head[0] - base >= self.every_records:
                    return True
                return (now - since).total_seconds() >= self.every_seconds

            latest, written = checkpoint_if_due(self._engine, self.path, self.signer, due)
            newest = written or latest
            if newest is not None:
                self._covered = newest.count
                self._state = f"seq 1..{newest.count} signed at {iso_utc(newest.at)}"
            # the next round: a period after the newest checkpoint (or the start) while
            # records wait uncovered, else a whole period from now
            waiting = written is None and bool(heads) and heads[0] > self._covered
            start = (newest.at if newest is not None else self._since) if waiting else now
            self._next = start + timedelta(seconds=self.every_seconds)
            return written

    def _round(self, *, final: bool = False) -> bool:
        try:
            self.run_once(final=final)
        except Exception as exc:
            self._state = f"failing since {iso_utc(utcnow())}: see the server log"
            _log.error("audit checkpoint not written to %s: %s", self.path, exc)
            return False
        return True

    def state(self) -> str:
        """What the latest round did, for ``/health``."""
        return self._state
