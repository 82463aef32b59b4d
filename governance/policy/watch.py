"""Policy watchers: tell every worker at once that the Casbin lines in the database changed.

A watcher follows pycasbin's ``Watcher`` interface (``set_update_callback``, ``update``,
``close``) plus ``start`` and ``connected``. It runs one daemon thread with its own
connection and calls the callback whenever the lines may have changed; the callback only
marks the worker's :class:`~governance.policy.store.PolicyStore` stale, and the store re-reads
the lines on its next request.

- :class:`PostgresWatcher` (the governance database is PostgreSQL): ``LISTEN
  twinreg_policy``. The database trigger on ``casbin_rule`` sends the ``NOTIFY`` in the
  transaction that changes the lines (:mod:`governance.policy.rules`), so it arrives when,
  and only if, the change commits; ``update`` has nothing left to send.
- :class:`RedisWatcher` (``TWINREG_REDIS_URL`` set, governance database not PostgreSQL):
  ``SUBSCRIBE twinreg:policy``; ``update`` publishes, after the change has committed.

A notification can still be lost (the listener's connection drops, the process stalls).
Two things bound the damage: after every (re)connection the watcher calls the callback,
since anything sent while it was away is gone; and the store compares the generation stamp
itself, on every refresh while the watcher is not ``connected`` and every
``recheck_seconds`` while it is.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Protocol

import psycopg
import redis
from psycopg import sql
from sqlalchemy.engine import make_url

from governance.policy.rules import CHANNEL

REDIS_CHANNEL = "twinreg:policy"
_log = logging.getLogger("twinreg.policy")


class PolicyWatcher(Protocol):
    """What :class:`~governance.policy.store.PolicyStore` needs from a watcher."""

    name: str

    @property
    def connected(self) -> bool: ...

    def set_update_callback(self, callback: Callable[[], None]) -> None: ...

    def update(self) -> None: ...

    def start(self) -> None: ...

    def close(self) -> None: ...


class _Listener:
    """The shared loop: listen, and on any failure report, wait and listen again."""

    kind = "watcher"

    def __init__(self, retry_seconds: float = 1.0, poll_seconds: float = 0.5) -> None:
        self.name = f"twinreg-policy-watch-{uuid.uuid4().hex[:8]}"
        self.retry_seconds = retry_seconds
        self.poll_seconds = poll_seconds
        self._callback: Callable[[], None] | None = None
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def connected(self) -> bool:
        """True while the listener is subscribed and its connection is alive."""
        return self._listening.is_set()

    def set_update_callback(self, callback: Callable[[], None]) -> None:
        self._callback = callback

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.poll_seconds + 5)
        self._listening.clear()

    def wait_connected(self, timeout: float) -> bool:
        return self._listening.wait(timeout)

    def _changed(self) -> None:
        callback = self._callback
        if callback is not None:
            try:
                callback()
            except Exception:  # a broken callback must not stop the listener
                _log.exception("policy watcher callback failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as exc:
                _log.warning("%s lost its connection (%s); retrying", self.kind, exc)
            finally:
                was_listening = self._listening.is_set()
                self._listening.clear()
                if was_listening:
                    self._changed()  # the store polls the generation until we are back
            self._stop.wait(self.retry_seconds)

    def _listen(self) -> None:
        """Connect, subscribe, call ``_changed`` (catch up on what was sent while away),
        set ``_listening``, then deliver notifications until ``_stop`` is set."""
        raise NotImplementedError


class PostgresWatcher(_Listener):
    kind = "PostgreSQL LISTEN"

    def __init__(
        self,
        url: str,
        channel: str = CHANNEL,
        retry_seconds: float = 1.0,
        poll_seconds: float = 0.5,
    ) -> None:
        super().__init__(retry_seconds, poll_seconds)
        # SQLAlchemy URL -> libpq URL (drop the "+psycopg" driver suffix).
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.channel = channel

    def update(self) -> None:
        """Nothing to do: the trigger on ``casbin_rule`` has notified, in the transaction
        that changed the lines."""

    def _listen(self) -> None:
        with psycopg.connect(
            self._dsn,
            autocommit=True,
            application_name=self.name,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        ) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self._changed()  # catch up on what was sent before LISTEN took effect
            self._listening.set()
            while not self._stop.is_set():
                for _notice in conn.notifies(timeout=self.poll_seconds):
                    self._changed()
                conn.execute("SELECT 1")  # a dead connection raises here, not silently


class RedisWatcher(_Listener):
    kind = "Redis SUBSCRIBE"

    def __init__(
        self,
        url: str,
        channel: str = REDIS_CHANNEL,
        retry_seconds: float = 1.0,
        poll_seconds: float = 0.5,
    ) -> None:
        super().__init__(retry_seconds, poll_seconds)
        self.url = url
        self.channel = channel
        self._publisher: redis.Redis | None = None

    def update(self) -> None:
        """Announce a committed change to every subscribed worker (best effort: a lost
        message is caught by the generation check)."""
        try:
            if self._publisher is None:
                self._publisher = redis.Redis.from_url(self.url, socket_timeout=5)
            self._publisher.publish(self.channel, "casbin_rule")
        except redis.RedisError as exc:
            _log.warning("policy change not published to Redis (%s)", exc)

    def close(self) -> None:
        super().close()
        if self._publisher is not None:
            self._publisher.close()  # type: ignore[no-untyped-call]
            self._publisher = None

    def _reconnected(self, _connection: object) -> None:
        self._changed()

    def _listen(self) -> None:
        client = redis.Redis.from_url(
            self.url,
            client_name=self.name,
            socket_connect_timeout=5,
            socket_keepalive=True,
            health_check_interval=10,
        )
        pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self.channel)
            while pubsub.get_message(timeout=5.0) is None:  # the subscription confirmed
                if self._stop.is_set():
                    return
            # Should redis-py ever reconnect by itself, what was published meanwhile is
            # lost: re-read after any reconnection too.
            if pubsub.connection is not None:
                pubsub.connection.register_connect_callback(self._reconnected)
            self._changed()  # catch up on what was published before SUBSCRIBE took effect
            self._listening.set()
            while not self._stop.is_set():
                message = pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=self.poll_seconds
                )
                if message is not None:
                    self._changed()
                pubsub.check_health()
        finally:
            pubsub.close()
            client.close()  # type: ignore[no-untyped-call]


def watcher_for(
    governance_url: str, redis_url: str | None
) -> PostgresWatcher | RedisWatcher | None:
    """LISTEN/NOTIFY when the governance database is PostgreSQL, else Redis pub/sub when
    Redis is configured, else none (the store polls the generation)."""
    if make_url(governance_url).get_backend_name() == "postgresql":
        return PostgresWatcher(governance_url)
    if redis_url:
        return RedisWatcher(redis_url)
    return None
