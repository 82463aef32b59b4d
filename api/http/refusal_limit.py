"""Refused credentials per client address: limited before authentication.

Each request whose credentials are refused (no token, a forged, expired or revoked one, a
page session the same) counts against its client address
(:func:`api.http.limits.client_address`) in a one-minute window. Before authentication,
this middleware reads the address's count: once it is over
``TWINREG_UNAUTHENTICATED_LIMIT``, a refusal from that address is answered 429 with
``Retry-After`` and writes nothing of its own — it adds one to the address's tally, written
as one audit record when the window ends (:mod:`api.composition.refusal_tally`). A valid
token from the same address is still served (users behind one NAT or proxy are not locked
out by another's flood); authenticated requests never count here (they have their own
limit per principal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from api.composition.refusal_tally import RefusalTally
from api.http.limits import WINDOW_SECONDS, Counters, client_address, exempt

#: The scope state key under which a request finds its address's standing.
STANDING = "twinreg.refusal_standing"


@dataclass
class Standing:
    """A request's address, and whether its refusals are over the limit."""

    address: str
    tally: RefusalTally
    #: Seconds left in the address's window when it is over its limit; None under it.
    over_for: int | None
    refused: bool = False

    def refuse(self, route: str) -> None:
        """Note a refusal of this request's credentials; over the limit, tally it and
        answer 429 instead of auditing it on its own."""
        self.refused = True
        if self.over_for is not None:
            self.tally.add(self.address, route, self.over_for)
            self.throttle()

    def throttle(self) -> NoReturn:
        retry = max(1, self.over_for or WINDOW_SECONDS)
        raise TooManyRequestsException(
            detail=f"too many refused credentials from this address: retry after {retry} s "
            "with a valid token ('twinreg token' prints one)",
            headers={"Retry-After": str(retry), "RateLimit-Limit": str(self.tally.limit)},
        )


class RefusalLimit:
    """ASGI middleware, ahead of authentication."""

    def __init__(self, app: ASGIApp, counters: Counters, tally: RefusalTally) -> None:
        self.app = app
        self.counters = counters
        self.tally = tally

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        key = f"refused:{address}"
        count, left = await self.counters.peek(key)
        standing = Standing(address, self.tally, left if count >= self.tally.limit else None)
        scope.setdefault("state", {})[STANDING] = standing
        try:
            await self.app(scope, receive, send)
        finally:
            if standing.refused:
                await self.counters.hit(key)


def standing_of(scope: Scope) -> Standing | None:
    standing = scope.get("state", {}).get(STANDING)
    return standing if isinstance(standing, Standing) else None


def refusal_limit_middleware(counters: Counters, tally: RefusalTally) -> DefineMiddleware:
    return DefineMiddleware(RefusalLimit, counters=counters, tally=tally)
