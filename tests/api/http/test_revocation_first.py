"""Revocation before anything: a revoked token (or a page session holding one) gets the
revoked-token answer on every route that takes a body, whatever the body — malformed,
of the wrong shape, naming a bad model, too large, of the wrong media type — and the
only record written is that refusal (no input refusal under the revoked user).

The routes are read from the app itself, so a new route with a body is covered too.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

import jwt
import pytest
from litestar.routes import HTTPRoute

from api.cli.demo import SITE
from api.composition.settings import Settings
from tests.conftest import Api

REVOKED = "the token has been revoked"
_PARAM = re.compile(r"\{(\w+):\w+\}")
#: Path parameters of real resources (the demo's twin and version; any patient id).
_VALUES = {
    "name": "whas500-mortality",
    "version": "1",
    "patient_id": "p-revoked",
    "audit_id": str(uuid.uuid4()),
}
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture()
def settings(settings: Settings) -> Settings:
    """Every route times every bad body, from one address: more refused credentials than an
    address may send in a minute before they are answered 429 and tallied
    (tests/api/http/test_refusal_limit.py). This test is about the order of the checks."""
    return dataclasses.replace(settings, unauthenticated_limit_per_minute=10_000)


def _write_routes(api: Api, prefix: str) -> list[tuple[str, str]]:
    """(method, path) of every route under ``prefix`` that takes a body or changes state,
    its parameters filled with real values."""
    out = []
    for route in api.client.app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(prefix):
            continue
        path = _PARAM.sub(lambda m: _VALUES.get(m.group(1), "x-1"), route.path)
        for handler in route.route_handlers:
            out += [(method, path) for method in sorted(handler.http_methods & _WRITES)]
    return out


def _bad_bodies(limit: int) -> list[tuple[str, bytes, str]]:
    """(case, body, media type) of bodies refused for their input."""
    return [
        ("malformed JSON", b"{", "application/json"),
        ("not an object", b"[1, 2]", "application/json"),
        ("unknown field", b'{"unknown": 1}', "application/json"),
        (
            "bad model reference",
            b'{"model": "NOT A MODEL", "patient_id": "p", "purpose": "treatment", "features": {}}',
            "application/json",
        ),
        (
            "bad model reference in a simulation",
            b'{"model": "NOT A MODEL", "patient_id": "p", "purpose": "treatment", '
            b'"features": {}, "scenarios": [{"name": "a", "features": {}}]}',
            "application/json",
        ),
        ("non-finite number", b'{"features": {"age": NaN}}', "application/json"),
        ("too large", b"{" + b" " * limit + b"}", "application/json"),
        ("wrong media type", b"model=x", "text/plain"),
    ]


def _revoked_headers(api: Api, by_user: bool) -> dict[str, str]:
    headers = api.headers("rita", "clinician", SITE)
    token = headers["Authorization"].removeprefix("Bearer ")
    assert api.client.get("/v1/models", headers=headers).status_code == 200
    if by_user:
        api.service.revocations.revoke("test", subject="rita")
    else:
        jti = jwt.decode(token, options={"verify_signature": False})["jti"]
        api.service.revocations.revoke("test", jti=jti)
    return headers


def _new_records(api: Api, before: int) -> list[dict[str, Any]]:
    return api.service.audit.records(offset=before, limit=1000)


def test_every_api_route_with_a_body_is_enumerated(api: Api) -> None:
    """The class is the app's, not a list kept here: the prediction route is in it."""
    routes = _write_routes(api, "/v1/")
    assert ("POST", "/v1/predictions") in routes
    assert ("POST", "/v1/simulations") in routes
    assert ("PUT", "/v1/patients/p-revoked") in routes
    assert len(routes) >= 9


@pytest.mark.parametrize("by_user", [False, True], ids=["by-token-id", "by-user"])
def test_a_revoked_token_is_refused_before_its_body_on_every_api_route(
    api: Api, by_user: bool
) -> None:
    headers = _revoked_headers(api, by_user)
    limit = api.service.settings.max_body_bytes
    failures = []
    for method, path in _write_routes(api, "/v1/"):
        for case, body, media in _bad_bodies(limit):
            before = api.service.audit.count()
            response = api.client.request(
                method, path, content=body, headers={**headers, "Content-Type": media}
            )
            records = _new_records(api, before)
            detail = response.json().get("detail") if response.status_code < 500 else None
            refusals = [(r["action"], r.get("reason"), r.get("method")) for r in records]
            if (
                response.status_code != 401
                or detail != REVOKED
                or refusals != [("auth.refused", REVOKED, method)]
            ):
                failures.append((method, path, case, response.status_code, detail, refusals))
    assert not failures, "\n".join(map(str, failures))


def _sign_in(api: Api, token: str) -> str:
    match = _CSRF.search(api.client.get("/ui/sign-in").text)
    assert match
    response = api.client.post(
        "/ui/sign-in",
        data={"token": token, "next": "/ui/models", "_csrf_token": match.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return match.group(1)


def test_a_revoked_session_is_refused_before_its_form_on_every_page(api: Api) -> None:
    """A page session whose token was revoked goes back to sign-in from every form, with a
    CSRF token or without, with a form that is empty, wrong or too large; the only record
    is the refusal of the revoked session. Signing in again is not blocked by the stale
    cookie."""
    limit = api.service.settings.max_body_bytes
    forms: list[tuple[str, dict[str, str] | bytes, bool]] = [
        ("empty form", {}, True),
        ("no CSRF token", {"model": "whas500-mortality"}, False),
        ("bad model", {"model": "NOT A MODEL", "action": "approve"}, True),
        ("too large", b"a=" + b"x" * limit, True),
    ]
    failures = []
    routes = [r for r in _write_routes(api, "/ui/") if r[1] != "/ui/sign-in"]
    assert ("POST", "/ui/predict") in routes and ("POST", "/ui/sign-out") in routes
    for method, path in routes:
        for case, form, with_csrf in forms:
            api.client.cookies.clear()
            token = api.token("rita", "clinician", SITE)
            csrf = _sign_in(api, token)
            # by its id: a user's revocation would also bind the next token of this second
            jti = jwt.decode(token, options={"verify_signature": False})["jti"]
            api.service.revocations.revoke("test", jti=jti)
            before = api.service.audit.count()
            if isinstance(form, bytes):
                body = form + (f"&_csrf_token={csrf}".encode() if with_csrf else b"")
                response = api.client.request(
                    method,
                    path,
                    content=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    follow_redirects=False,
                )
            else:
                data = {**form, **({"_csrf_token": csrf} if with_csrf else {})}
                response = api.client.request(method, path, data=data, follow_redirects=False)
            records = [(r["action"], r.get("reason")) for r in _new_records(api, before)]
            location = response.headers.get("location", "")
            if (
                response.status_code != 303
                or not location.startswith("/ui/sign-in")
                or records != [("auth.refused", REVOKED)]
            ):
                failures.append((path, case, response.status_code, location, records))
    assert not failures, "\n".join(map(str, failures))
    # the stale cookie does not stand in the way of a new sign-in
    _sign_in(api, api.token("rita", "clinician", SITE))
    assert api.client.get("/ui/models", follow_redirects=False).status_code == 200


def test_a_revoked_token_over_its_rate_limit_is_told_it_is_revoked(settings: Any) -> None:
    """A refusal that is not about the body — a rate limit — on the prediction route,
    whose revocation is read with the decision's facts, still reads it first."""
    import dataclasses

    from litestar.testing import TestClient

    from api.composition.service import TwinregService
    from api.composition.tokens import issue_token
    from api.http.app import create_app

    service = TwinregService(dataclasses.replace(settings, rate_limit_per_minute=2))
    try:
        with TestClient(app=create_app(service=service)) as client:
            token = issue_token(service.token_key, "rita", "clinician", SITE, 600)
            headers = {"Authorization": f"Bearer {token}"}
            codes = [
                client.post("/v1/predictions", content=b"{", headers=headers).status_code
                for _ in range(3)
            ]
            assert codes[-1] == 429, codes  # over the limit
            jti = jwt.decode(token, options={"verify_signature": False})["jti"]
            service.revocations.revoke("test", jti=jti)
            before = service.audit.count()
            response = client.post("/v1/predictions", content=b"{", headers=headers)
            assert (response.status_code, response.json()["detail"]) == (401, REVOKED)
            records = service.audit.records(offset=before, limit=10)
            assert [(r["action"], r["reason"]) for r in records] == [("auth.refused", REVOKED)]
    finally:
        service.engine.dispose()
