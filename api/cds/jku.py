"""A JWT's ``jku``: the URL of the EHR's JWK Set, fetched only when that very URL is on
its issuer's allow-list (never a URL the token merely names), cached for
:data:`CACHE_SECONDS`, with a short timeout and a size limit. A kid missing from a cached
set fetches it again (a rotated key), at most once per :data:`REFETCH_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from jwt import PyJWKSet
from jwt.exceptions import PyJWKSetError

from api.cds.errors import EhrRefused

CACHE_SECONDS = 300.0
REFETCH_SECONDS = 30.0
TIMEOUT_SECONDS = 5.0
MAX_BYTES = 64 * 1024


class JkuKeys:
    """Keys fetched from allow-listed jku URLs, by (url, kid)."""

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[float, dict[str, Any]]] = {}

    def key(self, url: str, kid: str) -> Any:
        """The public key ``kid`` of the set at ``url`` (:class:`EhrRefused` otherwise)."""
        now = time.monotonic()
        with self._lock:
            fetched = self._sets.get(url)
        stale = fetched is None or now - fetched[0] > CACHE_SECONDS
        missing = fetched is not None and kid not in fetched[1]
        if stale or (missing and fetched is not None and now - fetched[0] > REFETCH_SECONDS):
            keys = self._fetch(url)
            with self._lock:
                self._sets[url] = (now, keys)
            fetched = (now, keys)
        assert fetched is not None
        if kid not in fetched[1]:
            raise EhrRefused(f"kid {kid[:80]!r} is not in the JWK Set at the jku {url!r}")
        return fetched[1][kid]

    def _fetch(self, url: str) -> dict[str, Any]:
        try:
            with httpx.Client(
                timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=self._transport
            ) as client:
                response = client.get(url, headers={"Accept": "application/json"})
            if response.status_code != 200 or len(response.content) > MAX_BYTES:
                raise EhrRefused(f"the jku {url!r} answered {response.status_code}")
            jwks = PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, PyJWKSetError) as exc:
            raise EhrRefused(f"the jku {url!r} gave no JWK Set: {type(exc).__name__}") from exc
        return {k.key_id: k.key for k in jwks.keys if k.key_id}
