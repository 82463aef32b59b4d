"""Rate limits per principal (429). Counters live in Redis when ``TWINREG_REDIS_URL`` is
set, so that they hold across API workers; otherwise in the worker's memory.

One fixed window per principal: the first request opens a window of one minute, every
request in it counts, and a request beyond the limit is refused with 429 until the window
ends. A counter is one number and its expiry (in Redis: ``SET NX EX`` + ``INCR`` + ``TTL``
in one transaction, one round trip), so the cost of a request does not grow with the
traffic of the minute (Litestar's own middleware stores and re-encodes every timestamp of
the window on each request).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.composition.settings import Settings
from governance.identity.principal import Principal

#: Paths that are never limited (prefixes, matched on whole path segments).
EXEMPT_PATHS = ("/health", "/schema", "/static")
WINDOW_SECONDS = 60
_MAX_MEMORY_KEYS = 10_000


class Counters(Protocol):
    async def hit(self, key: str) -> tuple[int, int]:
        """Count one request for ``key``: (requests in the window so far, seconds left)."""
        ...

    async def peek(self, key: str) -> tuple[float, int]:
        """``key``'s count in its window and the seconds left, counting nothing ((0, 0):
        no window open)."""
        ...

    async def add(self, key: str, amount: float) -> None:
        """Add ``amount`` (e.g. seconds of work) to ``key``'s count in its window."""
        ...


class MemoryCounters:
    """The worker's own counters (one worker: the embedded default). Only the event loop
    touches them and ``hit`` never awaits, so each hit is atomic."""

    def __init__(self) -> None:
        self._counters: dict[str, tuple[float, float]] = {}

    async def hit(self, key: str) -> tuple[int, int]:
        count, left = self._add(key, 1)
        return int(count), left

    async def add(self, key: str, amount: float) -> None:
        self._add(key, amount)

    def _add(self, key: str, amount: float) -> tuple[float, int]:
        now = time.monotonic()
        count, reset = self._counters.get(key, (0.0, 0.0))
        if reset <= now:
            count, reset = 0.0, now + WINDOW_SECONDS
            if len(self._counters) >= _MAX_MEMORY_KEYS:
                self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        count += amount
        self._counters[key] = (count, reset)
        return count, max(0, int(reset - now))

    async def peek(self, key: str) -> tuple[float, int]:
        now = time.monotonic()
        count, reset = self._counters.get(key, (0.0, 0.0))
        return (count, max(0, int(reset - now))) if reset > now else (0.0, 0)


class RedisCounters:
    """Counters shared by every worker through Redis."""

    def __init__(self, url: str) -> None:
        self._redis = aioredis.Redis.from_url(url)

    async def hit(self, key: str) -> tuple[int, int]:
        name = f"twinreg:rate:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(name, 0, ex=WINDOW_SECONDS, nx=True)
            pipe.incr(name)
            pipe.ttl(name)
            _, count, ttl = await pipe.execute()
        return int(count), max(0, int(ttl))

    async def peek(self, key: str) -> tuple[float, int]:
        name = f"twinreg:rate:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(name)
            pipe.ttl(name)
            count, ttl = await pipe.execute()
        return (float(count), int(ttl)) if count is not None and ttl > 0 else (0.0, 0)

    async def add(self, key: str, amount: float) -> None:
        name = f"twinreg:rate:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(name, 0, ex=WINDOW_SECONDS, nx=True)
            pipe.incrbyfloat(name, amount)
            await pipe.execute()


def client_address(scope: Scope) -> str:
    """The client's address: the socket peer, or what a proxy named in
    ``TWINREG_TRUSTED_PROXIES`` forwarded (uvicorn puts it in the scope; ``twinreg serve``
    trusts no proxy by default)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _identifier(scope: Scope) -> str:
    user = scope.get("user")
    if isinstance(user, Principal):
        return f"principal:{user.user}"
    return f"address:{client_address(scope)}"


_EXEMPT_PREFIXES = tuple(p + "/" for p in EXEMPT_PATHS)
#: CDS Hooks calls are limited per EHR issuer once their JWT is verified
#: (:mod:`api.http.controllers.cds_hooks`), not per principal or address here.
EHR_PATHS = "/cds-services"


def exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(_EXEMPT_PREFIXES)


def _from_ehr(path: str) -> bool:
    return path == EHR_PATHS or path.startswith(EHR_PATHS + "/")


class PrincipalRateLimit:
    """ASGI middleware: counts each HTTP request against its principal (set by the bearer
    middleware before it) or, unauthenticated, its client address."""

    def __init__(self, app: ASGIApp, limit: int, counters: Counters) -> None:
        self.app = app
        self.limit = limit
        self.counters = counters
        self._policy = {
            "ratelimit-policy": f"{limit}; w={WINDOW_SECONDS}",
            "ratelimit-limit": str(limit),
        }
        self._raw_policy = [(k.encode(), v.encode()) for k, v in self._policy.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if scope["type"] != ScopeType.HTTP or exempt(path) or _from_ehr(path):
            await self.app(scope, receive, send)
            return
        count, reset = await self.counters.hit(_identifier(scope))
        window = {"ratelimit-remaining": str(max(0, self.limit - count))}
        window["ratelimit-reset"] = str(reset)
        if count > self.limit:
            raise TooManyRequestsException(headers={**self._policy, **window})
        raw = [*self._raw_policy, *((k.encode(), v.encode()) for k, v in window.items())]
        await self.app(scope, receive, _with_headers(send, raw))


def _with_headers(
    send: Send, raw: list[tuple[bytes, bytes]]
) -> Callable[[Message], Awaitable[None]]:
    """``send`` adding the ``raw`` headers to the response (the response sets none of
    them)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *raw]
        await send(message)

    return wrapped


@dataclass(frozen=True)
class RateLimit:
    middleware: DefineMiddleware


def counters_for(settings: Settings) -> Counters:
    return RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()


def rate_limit_config(settings: Settings) -> RateLimit:
    limit, counters = settings.rate_limit_per_minute, counters_for(settings)
    return RateLimit(DefineMiddleware(PrincipalRateLimit, limit=limit, counters=counters))
