"""Every ``/ui`` answer — errors included — carries the pages' security headers; the pages'
cookies are Secure over https (or when the deployment says TLS ends before the server)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.cli.demo import SITE
from api.composition.service import TwinregService
from api.composition.tokens import issue_token
from api.http.app import create_app
from tests.api.helpers import run_sql
from tests.conftest import Api

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
#: What every /ui answer carries, whatever its status (name -> a part of the value).
SECURITY_HEADERS = {
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
}


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


# -- security headers on every /ui answer --------------------------------------------------
def _missing_headers(response: Any) -> dict[str, str | None]:
    return {
        name: response.headers.get(name)
        for name, part in SECURITY_HEADERS.items()
        if part not in (response.headers.get(name) or "")
    }


def _error_answers(api: Api) -> Iterator[tuple[str, int, Any]]:
    """(case, expected status, response) for each error a page can answer."""
    client = api.client
    yield "no session", 303, client.get("/ui/models", follow_redirects=False)
    yield (
        "bad token at sign-in",
        401,
        client.post("/ui/sign-in", data={"token": "not-a-token", "_csrf_token": _csrf(api)}),
    )
    yield "no CSRF token", 403, client.post("/ui/sign-in", data={"token": "x"})
    _sign_in(api, api.token("carla", "clinician", SITE))
    csrf = _csrf(api, "/ui/models")
    yield "role may not", 403, client.get("/ui/ethics")
    yield "no such page", 404, client.get("/ui/no-such-page")
    yield "no such model", 404, client.get("/ui/models/no-such-model")
    yield "method not allowed", 405, client.put("/ui/models", content=b"x")
    yield (
        "form too large",
        413,
        client.post(
            "/ui/predict",
            content=b"a=" + b"x" * api.service.settings.max_body_bytes,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    )
    yield (
        "bad form value",
        422,
        client.post("/ui/predict", data={"model": "NOT A MODEL", "_csrf_token": csrf}),
    )
    # a broken database: what no page foresees
    run_sql(api.service.settings.governance_url, "ALTER TABLE model_version RENAME TO gone")
    yield "broken database", 500, client.get("/ui/models")


def test_every_page_error_carries_the_security_headers(api: Api) -> None:
    failures = []
    for case, status, response in _error_answers(api):
        missing = _missing_headers(response)
        # a server error may be the database's 503 or an unforeseen 500
        ok_status = response.status_code == status or (status == 500 and response.is_server_error)
        is_page = status == 303 or response.headers["content-type"].startswith("text/html")
        if not ok_status or missing or not is_page:
            failures.append(
                (case, response.status_code, response.headers.get("content-type"), missing)
            )
    assert not failures, "\n".join(map(str, failures))


# -- Secure cookies --------------------------------------------------------------------
@pytest.fixture()
def https_client(service: TwinregService) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(app=create_app(service=service), base_url="https://testserver.local") as c:
        yield c


def _set_cookies(response: Any) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


def _sign_in_cookies(client: Any, token: str) -> dict[str, str]:
    form = client.get("/ui/sign-in")
    cookies = _set_cookies(form)
    match = CSRF.search(form.text)
    assert match
    response = client.post(
        "/ui/sign-in",
        data={"token": token, "next": "/ui/models", "_csrf_token": match.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return cookies | _set_cookies(response)


def test_page_cookies_are_secure_over_https(https_client: Any, service: TwinregService) -> None:
    token = issue_token(service.token_key, "erin", "ethics_board", None, 600)
    cookies = _sign_in_cookies(https_client, token)
    assert set(cookies) >= {"twinreg_csrf", "twinreg_session"}
    for cookie in cookies.values():
        assert "secure" in cookie.lower().split("; "), cookie
    # the cookie that clears the session on sign-out is Secure too
    form = https_client.get("/ui/models")
    match = CSRF.search(form.text)
    assert match
    out = https_client.post(
        "/ui/sign-out", data={"_csrf_token": match.group(1)}, follow_redirects=False
    )
    cleared = _set_cookies(out)["twinreg_session"]
    assert "secure" in cleared.lower().split("; "), cleared


def test_page_cookies_are_not_secure_over_plain_http_unless_configured(api: Api) -> None:
    cookies = _sign_in_cookies(api.client, api.token("erin", "ethics_board"))
    assert all("secure" not in c.lower().split("; ") for c in cookies.values())


def test_a_deployment_behind_tls_makes_page_cookies_secure(settings: Any) -> None:
    """TWINREG_SECURE_COOKIES=1: TLS ends before the server (a proxy that does not say so
    in X-Forwarded-Proto), so the cookies are Secure although the request came over http."""
    import dataclasses

    service = TwinregService(dataclasses.replace(settings, secure_cookies=True))
    try:
        with TestClient(app=create_app(service=service)) as client:
            form = client.get("/ui/sign-in")
            cookies = _set_cookies(form)
            match = CSRF.search(form.text)
            assert match
            # what the browser, speaking https to the proxy, sends back
            csrf_cookie = cookies["twinreg_csrf"].split(";", 1)[0]
            client.cookies.clear()
            response = client.post(
                "/ui/sign-in",
                data={
                    "token": issue_token(service.token_key, "erin", "ethics_board", None, 600),
                    "_csrf_token": match.group(1),
                },
                headers={"Cookie": csrf_cookie},
                follow_redirects=False,
            )
            assert response.status_code == 303, response.text
            cookies |= _set_cookies(response)
        assert set(cookies) >= {"twinreg_csrf", "twinreg_session"}
        assert all("secure" in c.lower().split("; ") for c in cookies.values()), cookies
    finally:
        service.engine.dispose()
