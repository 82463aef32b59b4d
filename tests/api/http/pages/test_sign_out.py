"""Signing out ends the session: its token is revoked, so the old cookie (kept, copied or
replayed) opens no page and the same token is refused by the API."""

from __future__ import annotations

import re
from typing import Any

import jwt

from tests.conftest import Api

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
PAGES = ["/ui/", "/ui/models", "/ui/models/whas500-mortality/versions/1", "/ui/ethics"]


def _csrf(api: Api, path: str = "/ui/sign-in") -> str:
    match = CSRF.search(api.client.get(path).text)
    assert match
    return match.group(1)


def _sign_in(api: Api, token: str) -> None:
    response = api.client.post(
        "/ui/sign-in",
        data={"token": token, "next": "/ui/models", "_csrf_token": _csrf(api)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _goes_to_sign_in(response: Any) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/ui/sign-in")


def test_sign_out_revokes_the_session_token_for_pages_and_the_api(api: Api) -> None:
    token = api.token("erin", "ethics_board")
    other = api.token("erin", "ethics_board")  # another session of the same person
    _sign_in(api, token)
    for path in PAGES:
        assert api.client.get(path, follow_redirects=False).status_code == 200, path
    response = api.client.post(
        "/ui/sign-out", data={"_csrf_token": _csrf(api, "/ui/models")}, follow_redirects=False
    )
    assert _goes_to_sign_in(response)
    revocation = api.service.audit.records(action="token.revoke")[-1]
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert (revocation["actor"], revocation["jti"]) == ("erin", jti)
    # the old cookie, kept or copied, no longer opens any page ...
    api.client.cookies.set("twinreg_session", token, path="/ui")
    for path in PAGES:
        assert _goes_to_sign_in(api.client.get(path, follow_redirects=False)), path
    # ... nor the API as a bearer token
    bearer = {"Authorization": f"Bearer {token}"}
    response = api.client.get("/v1/models", headers=bearer)
    assert response.status_code == 401
    assert response.json()["detail"] == "the token has been revoked"
    # only this session ended: another token of the same person still works
    assert api.client.get("/v1/models", headers={"Authorization": f"Bearer {other}"}).is_success


def test_sign_out_without_a_session_revokes_nothing(api: Api) -> None:
    csrf = _csrf(api)
    before = len(api.service.audit.records(action="token.revoke"))
    response = api.client.post("/ui/sign-out", data={"_csrf_token": csrf}, follow_redirects=False)
    assert _goes_to_sign_in(response)
    assert len(api.service.audit.records(action="token.revoke")) == before
