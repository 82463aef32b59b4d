"""The serving app signs checkpoints of the audit chain by itself, and verifies them by the
public key: GET /v1/audit/verify, the ethics report's chain section, /health."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.composition.tokens import issue_token
from api.http.app import create_app
from governance.clock import utcnow
from tests.api.helpers import run_sql

PATIENCE = 30.0


def eventually(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {PATIENCE} s")
        time.sleep(0.05)


def signed_counts(service: TwinregService) -> list[int]:
    path = service.settings.checkpoints_file
    if not path.exists():
        return []
    return [json.loads(line)["count"] for line in path.read_text().splitlines()]


def test_the_server_signs_checkpoints_itself_and_a_truncation_is_caught(api: Any) -> None:
    """Nobody runs `twinreg audit checkpoint`: after 1,000 records (the default) the
    serving app has signed the head, and a truncation behind it is a failed verification."""
    service: TwinregService = api.service
    assert signed_counts(service) == []
    for i in range(1000):
        service.audit.append("test.filler", {"i": i})
    eventually("a signed checkpoint", lambda: bool(signed_counts(service)))
    # at most 1,000 records are left uncovered
    assert max(signed_counts(service)) >= service.audit.head()[0] - 1000
    signed = max(signed_counts(service))
    run_sql(
        service.settings.governance_url, "DELETE FROM audit_record WHERE seq > :n", n=signed - 3
    )
    body = api.client.get("/v1/audit/verify", headers=api.ethics).json()
    assert body["ok"] is False
    assert body["first_bad_seq"] == signed - 2 and "truncated" in body["message"], body
    health = api.client.get("/health").json()["checks"]
    assert health["audit_checkpoints"].startswith(f"seq 1..{signed} signed at ")


def test_the_period_and_a_graceful_stop_sign_the_head(settings: Settings) -> None:
    service = TwinregService(dataclasses.replace(settings, checkpoint_every_seconds=0.2))
    try:
        with TestClient(app=create_app(service=service)) as client:
            eventually("a checkpoint after the period", lambda: bool(signed_counts(service)))
            token = issue_token(service.token_key, "erin", "ethics_board", None, 3600)
            ethics = {"Authorization": f"Bearer {token}"}
            body = client.get("/v1/audit/verify", headers=ethics).json()
            assert body["ok"] is True and body["covered"] >= 1, body
        # the stop signed the head once more: every record is covered, the last read too
        assert max(signed_counts(service)) == service.audit.head()[0]
        assert service.audit_verify(None)["covered"] == service.audit.head()[0]
    finally:
        service.engine.dispose()


@pytest.mark.parametrize("forger", ["another key", "no signature", "edited count"])
def test_a_checkpoint_that_is_not_the_servers_is_a_finding(api: Any, forger: str) -> None:
    from governance.audit.checkpoints import signed_line
    from governance.audit.signing import CheckpointSigner
    from governance.audit.verify import Checkpoint

    service: TwinregService = api.service
    service.audit_checkpoint()
    path = service.settings.checkpoints_file
    good = path.read_text().splitlines()[0]
    count, digest = service.audit.head()
    if forger == "another key":
        impostor = CheckpointSigner.from_pem(CheckpointSigner.new_pem())
        line = signed_line(Checkpoint(count, digest, utcnow()), impostor)
        says = f"signed by key '{impostor.key_id}', which is not trusted"
    elif forger == "no signature":
        line = json.dumps({"at": "2030-01-01T00:00:00.000000Z", "count": count, "hash": digest})
        says = "without a signature"
    else:
        data = json.loads(good)
        data["count"] -= 1
        line = json.dumps(data)
        says = "whose signature does not verify"
    with path.open("a") as fh:
        fh.write(line + "\n")
    body = api.client.get("/v1/audit/verify", headers=api.ethics).json()
    assert body["ok"] is False and body["message"].startswith(f"{path}:2: checkpoint of ")
    assert says in body["message"], body["message"]
    assert body["covered"] == count  # the server's own checkpoint still counts
    report = api.client.get("/v1/reports/ethics", headers=api.ethics).json()
    chain = report["audit_chain"]
    assert chain["ok"] is False and says in chain["message"]
