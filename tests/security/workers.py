"""API worker processes for the scale-path tests: ``uvicorn api.http.asgi:app`` on a free port,
configured like production, through the environment; and the Redis they may share."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis

from api.composition.settings import Settings
from tests.conftest import IN_CI

REDIS_URL = os.environ.get("TWINREG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> str:
    """This machine's Redis URL; unreachable, the test fails in CI and is skipped elsewhere."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_URL} is unreachable in CI: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a worker (and of a CLI command) for ``settings``."""
    env = dict(
        os.environ,
        TWINREG_HOME=str(settings.home),
        TWINREG_GOVERNANCE_URL=settings.governance_url,
        TWINREG_TRACKING_URI=settings.tracking_uri,
        TWINREG_ARTIFACT_ROOT=settings.artifact_root,
        TWINREG_POLICIES=str(settings.policies_dir),
        TWINREG_POLICY_STORE=settings.policy_store,
        TWINREG_RATE_LIMIT="1000000",
        # Tests start many workers; none of them needs the mechanistic warm-up.
        TWINREG_WARM_UP="0",
    )
    env.pop("TWINREG_REDIS_URL", None)
    if settings.redis_url:
        env["TWINREG_REDIS_URL"] = settings.redis_url
    env.update(extra)
    return env


@contextmanager
def worker(
    settings: Settings, preexec_fn: Callable[[], None] | None = None, **extra_env: str
) -> Iterator[str]:
    """A started worker's base URL; terminated on exit. ``preexec_fn`` runs in the child
    before the worker starts (e.g. to drop privileges)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "api.http.asgi:app", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--log-level", "warning"],
        env=worker_env(settings, **extra_env),
        preexec_fn=preexec_fn,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # start-up (schema check, signing key, warm-up) is slower on a busy machine
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "worker exited"
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
