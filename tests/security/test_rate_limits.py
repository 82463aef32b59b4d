"""Rate limits per principal: 429 problem details; counters shared through Redis."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.composition.tokens import issue_token
from api.http.app import create_app
from tests.security.workers import redis_or_skip


@pytest.fixture()
def redis_url() -> str:
    return redis_or_skip()


def _limited(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, rate_limit_per_minute=5, **changes)


def test_in_memory_limit_per_principal(settings: Settings) -> None:
    service = TwinregService(_limited(settings))
    with TestClient(app=create_app(service=service)) as client:
        mine = {
            "Authorization": "Bearer " + issue_token(service.token_key, "a", "validator", None, 600)
        }
        other = {
            "Authorization": "Bearer " + issue_token(service.token_key, "b", "validator", None, 600)
        }
        codes = [client.get("/v1/models", headers=mine).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        r = client.get("/v1/models", headers=mine)
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("application/problem+json")
        assert client.get("/v1/models", headers=other).status_code == 200
        assert client.get("/health").status_code == 200


def test_counters_hold_across_workers_through_redis(settings: Settings, redis_url: str) -> None:
    limited = _limited(settings, redis_url=redis_url)
    user = f"u-{uuid.uuid4().hex[:8]}"
    first, second = TwinregService(limited), TwinregService(limited)
    with (
        TestClient(app=create_app(service=first)) as a,
        TestClient(app=create_app(service=second)) as b,
    ):
        headers = {
            "Authorization": "Bearer " + issue_token(first.token_key, user, "validator", None, 600)
        }
        codes = [
            (a if i % 2 else b).get("/v1/models", headers=headers).status_code for i in range(6)
        ]
        assert codes == [200] * 5 + [429]
