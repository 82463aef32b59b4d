"""A token revoked through the database binds every API worker on its next request, even
after each worker has verified (and cached) the token."""

from __future__ import annotations

from typing import Any

import httpx
import jwt

from api.composition.settings import Settings
from api.composition.tokens import issue_token
from tests.security.workers import worker


def test_revocation_binds_every_worker_on_its_next_request(
    settings: Settings, service: Any
) -> None:
    key = service.token_key
    token = issue_token(key, "victor", "validator", None, 600)
    other = issue_token(key, "victor", "validator", None, 600)
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    headers = {"Authorization": f"Bearer {token}"}
    other_headers = {"Authorization": f"Bearer {other}"}
    service.engine.dispose()
    with worker(settings) as a, worker(settings) as b:
        for base in (a, b):  # both workers have verified both tokens
            assert httpx.get(f"{base}/v1/models", headers=headers).status_code == 200
            assert httpx.get(f"{base}/v1/models", headers=other_headers).status_code == 200
        service.revocations.revoke("test", jti=jti)
        for base in (a, b):
            assert httpx.get(f"{base}/v1/models", headers=headers).status_code == 401
            assert httpx.get(f"{base}/v1/models", headers=other_headers).status_code == 200
        service.revocations.revoke("test", subject="victor")
        for base in (a, b):
            assert httpx.get(f"{base}/v1/models", headers=other_headers).status_code == 401
