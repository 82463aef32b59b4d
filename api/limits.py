"""Rate limits per principal (429). Counters live in Redis when ``TWINREG_REDIS_URL`` is
set, so that they hold across API workers; otherwise in the worker's memory."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from api.settings import Settings
from governance.principal import Principal

STORE_NAME = "rate_limit"


def _principal_key(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    if isinstance(user, Principal):
        return f"principal:{user.user}"
    client = request.client
    return f"address:{client.host if client else 'unknown'}"


def rate_limit_config(settings: Settings) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        identifier_for_request=_principal_key,
        exclude=["/health", "/schema", "/static"],
        store=STORE_NAME,
    )


def rate_limit_store(settings: Settings) -> Store:
    if settings.redis_url:
        return RedisStore.with_client(url=settings.redis_url, namespace="twinreg")
    return MemoryStore()
