"""Refused credentials are limited per client address, before authentication, and those
beyond the limit are tallied in one audit record per address and window (issue 13,
finding 3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.composition.tokens import issue_token
from api.http.app import create_app

LIMIT = 5
FLOOD = 40
ATTACKER, NEIGHBOUR = "203.0.113.7", "198.51.100.2"
THROTTLED = "auth.refused.throttled"
#: A test header standing for the socket peer uvicorn puts in the scope.
PEER = "x-test-peer"


def _from_peer(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        peer = dict(scope["headers"]).get(PEER.encode())
        if peer:
            scope["client"] = (peer.decode(), 4711)
        await app(scope, receive, send)

    return wrapped


def _app(service: TwinregService) -> Litestar:
    app = create_app(service=service)
    app.asgi_handler = _from_peer(app.asgi_handler)
    return app


@pytest.fixture()
def limited(settings: Settings) -> Iterator[TwinregService]:
    service = TwinregService(dataclasses.replace(settings, unauthenticated_limit_per_minute=LIMIT))
    yield service
    service.engine.dispose()


def _bad(peer: str, token: str = "forged") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", PEER: peer}


def _records(service: TwinregService, since: int) -> list[dict[str, Any]]:
    return [r for r in service.audit.records(limit=100_000) if r["seq"] > since]


FLOODS = {
    "forged bearer token": ("/v1/models", lambda: _bad(ATTACKER)),
    "no credentials": ("/v1/models", lambda: {PEER: ATTACKER}),
    "another scheme": ("/v1/audit/records", lambda: {"Authorization": "Basic x", PEER: ATTACKER}),
    "forged page session": (
        "/ui/",
        lambda: {"Cookie": "twinreg_session=forged", PEER: ATTACKER},
    ),
}


@pytest.mark.parametrize("kind", sorted(FLOODS))
def test_a_flood_from_one_address_gets_429_and_one_tallied_record(
    limited: TwinregService, kind: str
) -> None:
    path, headers = FLOODS[kind]
    head = limited.audit.head()[0]
    with TestClient(app=_app(limited)) as client:
        codes = [
            client.get(path, headers=headers(), follow_redirects=False).status_code
            for _ in range(FLOOD)
        ]
        refused = codes[0]
        assert refused in (401, 303)  # the API's 401, the pages' way back to sign-in
        assert codes == [refused] * LIMIT + [429] * (FLOOD - LIMIT)
        last = client.get(path, headers=headers(), follow_redirects=False)
        assert last.status_code == 429
        assert int(last.headers["retry-after"]) > 0
        if not path.startswith("/ui"):
            assert last.headers["content-type"].startswith("application/problem+json")
            assert "too many refused credentials" in last.json()["detail"]
        # while the window is open, only the refusals under the limit are in the log
        assert len(_records(limited, head)) == LIMIT
    # the server's stop writes the window's tally: one record, counting every 429
    records = _records(limited, head)
    assert [r["action"] for r in records] == ["auth.refused"] * LIMIT + [THROTTLED]
    tally = records[-1]
    assert tally["client"] == ATTACKER
    assert tally["count"] == FLOOD - LIMIT + 1
    assert limited.audit_verify(None)["ok"] is True


def test_another_address_and_authenticated_users_are_not_limited(
    limited: TwinregService,
) -> None:
    valid = issue_token(limited.token_key, "vera", "validator", None, 600)
    with TestClient(app=_app(limited)) as client:
        for _ in range(FLOOD):
            client.get("/v1/models", headers=_bad(ATTACKER))
        assert client.get("/v1/models", headers=_bad(ATTACKER)).status_code == 429
        # another address: its own refusals, under its own limit
        assert client.get("/v1/models", headers=_bad(NEIGHBOUR)).status_code == 401
        # a valid token from the flooding address itself is served
        mine = {"Authorization": f"Bearer {valid}", PEER: ATTACKER}
        assert client.get("/v1/models", headers=mine).status_code == 200
        assert client.get("/health", headers={PEER: ATTACKER}).status_code == 200


def test_the_tally_is_written_when_its_window_ends(limited: TwinregService) -> None:
    head = limited.audit.head()[0]
    with TestClient(app=_app(limited)) as client:
        for _ in range(LIMIT + 3):
            client.get("/v1/models", headers=_bad(ATTACKER))
        tally = client.app.state.refusal_tally
        assert tally.flush_due() == 0  # the window is still open
        assert tally.flush_due(after_seconds=120) == 1
        records = _records(limited, head)
        assert records[-1]["action"] == THROTTLED
        assert records[-1]["count"] == 3
        assert limited.audit_verify(None)["ok"] is True
    # nothing left to write at the stop
    assert len(_records(limited, head)) == LIMIT + 1
