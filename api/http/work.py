"""Expensive work: a bounded queue per worker, and a budget of work per principal.

A request limit counts requests, but one five-scenario simulation costs what hundreds of
statistical predictions do. Expensive requests — simulations, predictions of a mechanistic
twin, of a twin not loaded yet or with a plot, the ethics report — therefore pass through
a :class:`WorkQueue`: at most ``TWINREG_EXPENSIVE_CONCURRENCY`` run at once in a worker and
``TWINREG_EXPENSIVE_QUEUE`` wait behind them; one more is refused at once with 503 and
``Retry-After``. Cheap requests (health, single statistical predictions, reads) never
enter it, so they keep the rest of the machine.

Each principal is charged the seconds its expensive requests held a running place, in a
one-minute window (the counters of :mod:`api.http.limits`: in memory, or in Redis shared
by the workers); past ``TWINREG_WORK_BUDGET`` seconds its next expensive request is refused
with 429 and ``Retry-After`` until the window ends, while other principals are served.
Every refusal is a problem document saying what to do, and an audit record
(``work.refused``), after the token's revocation is read (revocation before anything).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from api.composition.settings import Settings
from api.http.auth import revoked_before_its_facts
from api.http.limits import Counters
from governance.errors import TokenRevoked
from governance.identity.principal import Principal
from governance.identity.revocation import REVOKED

REFUSED = "work.refused"


class WorkRefused(HTTPException):
    """429 (this principal's budget is spent) or 503 (the queue is full)."""

    def __init__(self, status: int, detail: str, retry_after: int) -> None:
        super().__init__(
            status_code=status, detail=detail, headers={"Retry-After": str(retry_after)}
        )
        self.audit_id: str | None = None


class WorkQueue:
    """The worker's expensive requests: ``running`` at once, ``waiting`` behind them."""

    def __init__(self, running: int, waiting: int, budget: float, counters: Counters) -> None:
        self.running, self.waiting, self.budget = running, waiting, budget
        self._counters = counters
        self._admitted = 0  # running or waiting now
        self._semaphore: asyncio.Semaphore | None = None
        self._mean = 1.0  # seconds an expensive request held its place, recently

    @property
    def admitted(self) -> int:
        """Expensive requests running or waiting now."""
        return self._admitted

    @asynccontextmanager
    async def place(self, user: str) -> AsyncIterator[None]:
        """Hold a running place for ``user``'s expensive request, waiting for one if
        needed; raises :class:`WorkRefused` when the budget is spent or the queue full."""
        key = f"work:{user}"
        spent, left = await self._counters.peek(key)
        if spent >= self.budget:
            raise WorkRefused(
                429,
                f"this principal used its {self.budget:g} s of expensive work for this "
                f"minute: retry after {max(1, left)} s; cheap requests are still served",
                max(1, left),
            )
        if self._admitted >= self.running + self.waiting:
            retry = max(1, math.ceil(self._mean * self._admitted / self.running))
            raise WorkRefused(
                503,
                f"the server is busy with expensive work ({self._admitted} requests running "
                f"or waiting, the most it takes): retry after {retry} s",
                retry,
            )
        if self._semaphore is None:  # made in the event loop that serves
            self._semaphore = asyncio.Semaphore(self.running)
        self._admitted += 1
        try:
            await self._semaphore.acquire()
        except BaseException:
            self._admitted -= 1
            raise
        start = time.monotonic()
        try:
            yield
        finally:
            held = time.monotonic() - start
            self._semaphore.release()
            self._admitted -= 1
            self._mean = 0.8 * self._mean + 0.2 * held
            await self._counters.add(key, held)


def principal_in(scope: Scope) -> Principal | None:
    """The request's principal: the bearer token's, or the page session's."""
    user = scope.get("user")
    if not isinstance(user, Principal):
        user = scope.get("state", {}).get("principal")
    return user if isinstance(user, Principal) else None


@asynccontextmanager
async def expensive_work(scope: Scope) -> AsyncIterator[None]:
    """Run the request's expensive part in the worker's :class:`WorkQueue`; a refusal is
    audited (after the token's revocation, which comes first) and raised."""
    principal = principal_in(scope)
    if principal is None:  # not signed in: the handler refuses it
        yield
        return
    queue: WorkQueue = scope["app"].state.work_queue
    try:
        async with queue.place(principal.user):
            yield
    except WorkRefused as refused:
        if revoked_before_its_facts(scope):
            raise TokenRevoked(REVOKED) from refused
        route = str(scope.get("path_template") or scope["path"])
        body: dict[str, Any] = {"principal": principal.to_audit(), "path": route}
        body.update(status=refused.status_code, reason=refused.detail)
        service = scope["app"].state.twinreg
        # on a worker thread: the audit record may wait for the database's lock
        entry = await to_thread.run_sync(service.audit.append, REFUSED, body)
        refused.audit_id = entry.record_id
        raise


class ExpensiveWork:
    """ASGI middleware for a route handler whose whole work is expensive."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with expensive_work(scope):
            await self.app(scope, receive, send)


#: ``middleware=[EXPENSIVE]`` on a route handler puts its requests in the queue.
EXPENSIVE = DefineMiddleware(ExpensiveWork)


def work_queue(settings: Settings, counters: Counters) -> WorkQueue:
    return WorkQueue(
        settings.expensive_concurrency,
        settings.expensive_queue,
        settings.work_budget_seconds,
        counters,
    )
