"""Read deadlines for uvicorn's HTTP/1.1 protocols: a slow client is disconnected.

uvicorn (0.30 to 0.55 at least) has no timeout for reading a request: ``timeout_keep_alive``
only runs between requests and restarts on every byte received, so a client that sends
nothing, or half a request, or one byte a second, keeps its connection — and a worker's
slot — forever. These protocols add two deadlines, each counted once, not per byte:

- the *head* (request line and headers) must arrive within ``TWINREG_HEADER_TIMEOUT``
  seconds (10) of the connection opening or of the request's first byte; else the server
  answers 408 and closes; a head larger than :data:`MAX_HEAD_BYTES` is answered 431;
- the *body* a head announces must arrive within ``TWINREG_BODY_TIMEOUT`` seconds (30) of
  the head; else the connection is closed (the application sees a disconnect).

Between requests uvicorn's own keep-alive timeout (5 s) applies; while the application
works on a request nothing is timed. ``twinreg serve`` uses :class:`TimedHttp`; a plain
uvicorn gets the same with ``--http api.http.read_timeouts:TimedHttp`` (or
``TimedHttpTools`` / ``TimedH11`` to choose the parser).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from api.composition.settings import Settings

#: Request line and headers together: the largest head read before 431 (h11's default).
MAX_HEAD_BYTES = 16 * 1024
_HEAD, _BODY = "head", "body"
_log = logging.getLogger("twinreg.http")
_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


@functools.cache
def deadlines() -> tuple[float, float]:
    """(head, body) seconds, from the settings of this process's environment."""
    settings = Settings.load()
    return settings.header_timeout_seconds, settings.body_timeout_seconds


class _ReadDeadlines(asyncio.Protocol):
    """The deadlines over either uvicorn HTTP/1.1 protocol: both keep the request being
    received as ``self.cycle`` (replaced when a head is complete; ``more_body`` false once
    its body is), and call ``data_received`` for every chunk read."""

    if TYPE_CHECKING:
        cycle: Any
        transport: asyncio.Transport
        loop: asyncio.AbstractEventLoop

    _timer: asyncio.TimerHandle | None = None
    _phase: str | None = None
    _head_bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm(_HEAD)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        if self._phase is None and (before is None or not before.more_body):
            self._arm(_HEAD)  # the first bytes of the next request
        if self._phase == _HEAD:
            self._head_bytes += len(data)
        super().data_received(data)
        cycle = self.cycle
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._disarm()  # closed (a parse error) or handed over (an upgrade)
        elif cycle is not before:  # a head is complete: now its body, if it has one
            self._disarm()
            if cycle.more_body:
                self._arm(_BODY)
        elif self._phase == _BODY and not cycle.more_body:
            self._disarm()
        elif self._phase == _HEAD and self._head_bytes > MAX_HEAD_BYTES:
            _log.info("closing a connection whose request head exceeds %d bytes", MAX_HEAD_BYTES)
            self._disarm()
            self.transport.write(_TOO_LARGE)
            self.transport.close()

    def _arm(self, phase: str) -> None:
        self._disarm()
        head, body = deadlines()
        self._phase = phase
        self._timer = self.loop.call_later(head if phase == _HEAD else body, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._phase, self._head_bytes = None, None, 0

    def _expired(self) -> None:
        phase, busy = self._phase, self.cycle is not None and not self.cycle.response_complete
        if phase == _HEAD and busy and not self.cycle.more_body:
            # a pipelined head waits while the previous request is answered: its time
            # starts when the server can read it
            self._arm(_HEAD)
            return
        self._timer, self._phase = None, None
        if self.transport.is_closing():
            return
        _log.info("closing a connection whose request %s did not arrive in time", phase)
        if phase == _HEAD and not busy:
            self.transport.write(_TIMEOUT)
        self.transport.close()


class TimedH11(_ReadDeadlines, H11Protocol):
    """uvicorn's h11 protocol with read deadlines (and a head of at most
    :data:`MAX_HEAD_BYTES`)."""


TimedHttp: type[asyncio.Protocol] = TimedH11
try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools comes with uvicorn[standard]
    pass
else:

    class TimedHttpTools(_ReadDeadlines, HttpToolsProtocol):
        """uvicorn's httptools protocol with read deadlines."""

    TimedHttp = TimedHttpTools
