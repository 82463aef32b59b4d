"""One person, one name, over HTTP and the command line: tokens are issued for the
normalised name, a token carrying another spelling (issued before names were normalised)
is read as that name or refused, and the four-eyes rule compares normalised names — also
against registrants recorded before."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import pytest
from litestar.testing import TestClient

from api.cli.demo import DATA_SCIENTIST
from api.composition.service import TwinregService
from api.composition.tokens import issue_token
from api.http.app import create_app
from governance.errors import InvalidInput
from models.demo_twins import DemoTwin
from tests.api.cli.test_cli import run
from tests.api.helpers import run_sql, twin_named
from tests.conftest import Api

WHAS = "whas500-mortality"
#: Spellings of the registrant's name ("dana").
SPELLINGS = ["dana ", " dana", "Dana", "DANA", "\uff44\uff41\uff4e\uff41", "dana\u00a0", "\tdana"]


def _old_token(api: Api, sub: str, role: str = "validator") -> dict[str, str]:
    """A token as ``twinreg token`` signed it before names were normalised: the subject as
    given."""
    now = int(time.time())
    claims = {"sub": sub, "role": role, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    token = jwt.encode(claims, api.service.token_key, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def test_no_spelling_of_the_registrants_name_approves_its_version(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, WHAS)
    rv = api.service.register_version(
        DATA_SCIENTIST, WHAS, twin.card.kind, twin.model, twin.card, twin.evaluation
    )
    assert DATA_SCIENTIST.user == "dana"
    url = f"/v1/models/{WHAS}/versions/{rv.version}"
    assert api.client.post(f"{url}/bias-audits", headers=api.validator).status_code == 201
    assert api.client.post(f"{url}/dossier", headers=api.validator).status_code == 201
    failures = []
    for spelling in SPELLINGS:
        # issued now: for the normalised name, which the four-eyes rule refuses
        # issued before names were normalised: the token itself is refused
        for headers, status, says in (
            (api.headers(spelling, "validator"), 403, "four-eyes"),
            (_old_token(api, spelling), 401, "ask for a new token"),
        ):
            for action in ("approve", "reject"):
                r = api.client.post(f"{url}/{action}", json={"comment": "mine"}, headers=headers)
                if r.status_code != status or says not in r.json()["detail"]:
                    failures.append((spelling, action, r.status_code, r.text[:200]))
    assert not failures, "\n".join(map(str, failures))
    # a registrant recorded before names were normalised is the same person too (read by
    # a fresh worker: versions are cached per status)
    run_sql(
        api.service.settings.governance_url,
        "UPDATE model_version SET registrant = :raw WHERE model = :m AND version = :v",
        raw=" DANA ",
        m=WHAS,
        v=rv.version,
    )
    fresh = TwinregService(api.service.settings)
    try:
        with TestClient(app=create_app(service=fresh)) as client:
            dana = {"Authorization": f"Bearer {api.token('dana', 'validator')}"}
            r = client.post(f"{url}/approve", json={"comment": "mine"}, headers=dana)
            assert r.status_code == 403 and "four-eyes" in r.json()["detail"], r.text
            assert fresh.lifecycle.version(WHAS, rv.version).status == "validated"
            r = client.post(f"{url}/approve", json={"comment": "ok"}, headers=api.validator)
            assert r.status_code == 200, r.text
    finally:
        fresh.engine.dispose()


@pytest.mark.parametrize(
    "sub",
    ["d\u0430na", "dana smith", "dana\u200b", "", "x" * 65, "dana ", "Dana", "\uff44ana"],
)
def test_a_token_whose_subject_is_not_a_user_name_is_refused(api: Api, sub: str) -> None:
    r = api.client.get("/v1/models", headers=_old_token(api, sub))
    assert r.status_code == 401, r.text
    assert "user name" in r.json()["detail"] or "subject" in r.json()["detail"]
    refusal = api.service.audit.records(action="auth.refused")[-1]
    assert refusal["path"] == "/v1/models"


def test_a_token_for_a_spelling_acts_under_the_normalised_name(api: Api) -> None:
    """The audit log and every rule see one name, whichever spelling the token was asked
    for."""
    before = api.service.audit.count()
    headers = api.headers(" ADA ", "admin")
    r = api.client.put("/v1/patients/p-n2", json={"site": "st-mary"}, headers=headers)
    assert r.status_code == 200, r.text
    written = json.dumps(api.service.audit.records(offset=before, limit=100))
    assert '"ada"' in written and "ADA" not in written


def test_a_revocation_of_a_spelling_revokes_the_user(api: Api) -> None:
    headers = api.headers("erin", "ethics_board")
    assert api.client.get("/v1/models", headers=headers).status_code == 200
    api.service.revocations.revoke("test", subject=" ERIN ")
    assert api.client.get("/v1/models", headers=headers).status_code == 401


def test_issue_token_signs_the_normalised_name(api: Api) -> None:
    token = issue_token(api.service.token_key, " \uff44\uff41\uff4e\uff41 ", "validator", None, 600)
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == "dana"
    with pytest.raises(InvalidInput, match="user name"):
        issue_token(api.service.token_key, "d\u0430na", "validator", None, 600)


def test_cli_token_normalises_the_name_and_refuses_others(settings: Any, service: Any) -> None:
    result = run(settings, "token", "--user", " Dana ", "--role", "validator")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert jwt.decode(token, service.token_key, algorithms=["HS256"])["sub"] == "dana"
    for bad in ("d\u0430na", "dana smith", ""):
        result = run(settings, "token", "--user", bad, "--role", "validator")
        assert result.exit_code == 2, result.output
        assert "twinreg:" in result.output and "user name" in result.output
