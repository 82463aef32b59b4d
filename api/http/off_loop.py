"""Error answers are built on a worker thread, never on the event loop.

Most error answers write the audit log (a refused prediction body, a revoked token) and a
write may wait for the governance database: on SQLite, for another process's write lock,
up to the busy timeout. Litestar calls exception handlers on the event loop, where such a
wait would hold up every request of the worker, ``/health`` included. So an
``after_exception`` hook, which Litestar awaits before it calls the handler, builds the
answer on a worker thread, and the handler registered with the app hands over what the
hook built (or, if the hook could not build it, builds it itself).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from anyio import to_thread
from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.types import Scope

Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]
Hook = Callable[[Exception, Scope], Awaitable[None]]

#: The scope key under which the hook leaves the answer it built, with its exception.
_BUILT = "twinreg.error_answer"


def off_the_loop(handler: Handler) -> tuple[Hook, Handler]:
    """``handler`` split into the app's ``after_exception`` hook, which runs it on a worker
    thread, and the exception handler that returns what the hook built."""

    async def build(exc: Exception, scope: Scope) -> None:
        if scope["type"] != ScopeType.HTTP:
            return
        try:
            response = await to_thread.run_sync(handler, Request(scope), exc)
        except Exception:  # the handler runs again on the loop, and answers or raises there
            return
        scope[_BUILT] = (exc, response)  # type: ignore[literal-required]

    def answer(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        built = request.scope.pop(_BUILT, None)  # type: ignore[misc]
        if built is not None and built[0] is exc:
            response: Response[Any] = built[1]
            return response
        return handler(request, exc)

    return build, answer
