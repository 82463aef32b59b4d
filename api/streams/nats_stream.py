"""Device readings over NATS JetStream (nats-py): a durable pull consumer with explicit
acks on the stream ``<PREFIX>_READINGS`` (made if missing: subjects
``<prefix>.devices.*.readings``, file storage, work-queue retention: a reading leaves the
stream once acknowledged). A message is acknowledged only after its batch committed (or
its dead letter was stored in ``<PREFIX>_DEAD_LETTERS``); one not acknowledged within
``ack_wait`` — the ingester died — is delivered again, and stored once.

nats-py is asynchronous: its event loop runs in a thread of its own, the ingester calls
it through :func:`asyncio.run_coroutine_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from api.composition.settings import StreamSettings
from api.streams.dead_letters import dead_letter
from api.streams.delivery import Delivery
from api.streams.errors import BrokerError, Refused
from api.streams.topics import Topics
from api.streams.transport import password

_log = logging.getLogger("twinreg.ingest.nats")
T = TypeVar("T")
#: Seconds JetStream waits for an acknowledgement before delivering a message again.
ACK_WAIT_SECONDS = 30.0
MAX_ACK_PENDING = 20_000
CALL_TIMEOUT_SECONDS = 30.0
#: The shortest pull: an idle ingester asks again this often.
MIN_FETCH_SECONDS = 0.05


class NatsTransport:
    name = "nats"

    def __init__(self, settings: StreamSettings) -> None:
        self._settings = settings
        self._topics = Topics(settings.prefix)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats", daemon=True)
        self._nc: NatsClient | None = None
        self._sub: Any = None
        self._js: Any = None
        self._ahead: Future[list[Msg]] | None = None
        self._acks: list[Future[None]] = []

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_SECONDS) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def start(self) -> None:
        self._thread.start()
        try:
            self._call(self._start())
        except (NatsError, OSError, TimeoutError) as exc:
            self.stop()
            raise BrokerError(f"NATS at {self._where()} cannot be used: {exc!r}") from exc

    def _where(self) -> str:
        return self._settings.nats_url.rsplit("@", 1)[-1]  # never the credentials

    async def _start(self) -> None:
        options: dict[str, Any] = {"connect_timeout": 5, "max_reconnect_attempts": -1,
                                   "allow_reconnect": True}  # fmt: skip
        if self._settings.nats_username:
            options["user"] = self._settings.nats_username
            options["password"] = password(self._settings.nats_password_file)
        self._nc = await nats.connect(self._settings.nats_url, **options)
        self._js = self._nc.jetstream()
        await self._stream(self._topics.stream, self._topics.nats_readings, work_queue=True)
        await self._stream(self._topics.dead_letter_stream, self._topics.nats_dead_letters)
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_SECONDS,
                                max_ack_pending=MAX_ACK_PENDING, max_deliver=-1)  # fmt: skip
        self._sub = await self._js.pull_subscribe(
            self._topics.nats_readings, durable=self._topics.durable,
            stream=self._topics.stream, config=config,
        )  # fmt: skip

    async def _stream(self, name: str, subject: str, work_queue: bool = False) -> None:
        try:
            await self._js.stream_info(name)
        except NotFoundError:
            retention = RetentionPolicy.WORK_QUEUE if work_queue else RetentionPolicy.LIMITS
            await self._js.add_stream(StreamConfig(name=name, subjects=[subject],
                                                   retention=retention,
                                                   storage=StorageType.FILE))  # fmt: skip

    def receive(self, limit: int, wait: float) -> list[Delivery]:
        """The batch fetched meanwhile (the next fetch starts at once: the network and
        the parsing overlap the commit of this one; what is fetched but never
        acknowledged comes again after the ack wait)."""
        window = max(wait, MIN_FETCH_SECONDS)
        ahead = self._ahead or asyncio.run_coroutine_threadsafe(
            self._fetch(limit, window), self._loop
        )
        try:
            messages: list[Msg] = ahead.result(CALL_TIMEOUT_SECONDS)
        except (NatsError, TimeoutError) as exc:
            _log.warning("fetch failed (retrying): %r", exc)
            messages = []
        self._ahead = asyncio.run_coroutine_threadsafe(self._fetch(limit, window), self._loop)
        now = time.time()
        return [Delivery(self._topics.nats_device(m.subject), m.data, now, m) for m in messages]

    async def _fetch(self, limit: int, window: float) -> list[Msg]:
        """Up to ``limit`` messages: a pull that lasts ``window`` (nats-py waits that long
        for the batch to fill once the first message came: the batch's latency)."""
        try:
            return list(await self._sub.fetch(batch=limit, timeout=window))
        except (TimeoutError, NatsTimeout):
            return []

    def dead_letter(self, refused: Sequence[tuple[Delivery, Refused]]) -> None:
        if not refused:
            return
        try:
            self._call(self._dead_letters(refused))
        except (NatsError, TimeoutError) as exc:
            raise BrokerError(f"a dead letter was not stored: {exc!r}") from exc

    async def _dead_letters(self, refused: Sequence[tuple[Delivery, Refused]]) -> None:
        await asyncio.gather(*(
            self._js.publish(self._topics.nats_dead_letter(d.device), dead_letter(d, r, self.name),
                             stream=self._topics.dead_letter_stream)
            for d, r in refused
        ))  # fmt: skip

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Sent in the background, in order (a lost acknowledgement only means the
        message comes again, and is found stored)."""
        self._acks = [f for f in self._acks if not f.done() or _logged(f)]
        if deliveries:
            handles = [d.handle for d in deliveries]
            self._acks.append(asyncio.run_coroutine_threadsafe(self._ack(handles), self._loop))

    async def _ack(self, handles: list[Any]) -> None:
        for msg in handles:
            await msg.ack()
        assert self._nc is not None
        await self._nc.flush()

    def stop(self) -> None:
        """Close the connection (what was not acknowledged is delivered again), then the
        loop, its leftover tasks cancelled."""
        if not self._thread.is_alive():
            return
        try:
            self._call(self._close(), timeout=10)
        except (NatsError, TimeoutError) as exc:
            _log.warning("close: %r", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _close(self) -> None:
        for pending in self._acks:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(pending)
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()
        current = asyncio.current_task()
        leftover = [t for t in asyncio.all_tasks() if t is not current]
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)


def _logged(done: Future[None]) -> bool:
    """Log a finished acknowledgement's failure; False (drop it from the pending list)."""
    if done.exception() is not None:
        _log.warning("acknowledgement not sent: %r", done.exception())
    return False
