"""Sign-in keeps where the user was going (``next``, with its query) and redirects only to a
same-origin relative path under ``/ui/``: a scheme, a host, a backslash, ``//``, a control
character or a dot segment sends the user home instead (no open redirect)."""

from __future__ import annotations

import pytest

from api.cli.demo import CLINICIAN, SITE
from api.http.pages.session import safe_next
from tests.api.http.pages.clinician import csrf
from tests.conftest import Api

REFUSED = [
    "//evil.example",
    "//evil.example/ui/",
    "https://evil.example/ui/",
    "http:/ui/x",
    "javascript:alert(1)",
    "/\\evil.example",
    "/ui/\\\\evil.example",
    "/ui//evil.example",
    "/\t/evil.example",
    "/ui/\r\nLocation: https://evil.example",
    "/ui/../api",
    "/ui/%2e%2e/api",
    "/ui/./%2E%2E/v1",
    "/uix",
    "/ui",
    "/v1/models",
    "evil.example",
    "",
]
KEPT = ["/ui/", "/ui/predict?model=whas500-mortality", "/ui/patients/p%201?site=st-luke"]


@pytest.mark.parametrize("target", REFUSED)
def test_a_target_off_our_pages_goes_home(target: str) -> None:
    assert safe_next(target) == "/ui/"


@pytest.mark.parametrize("target", KEPT)
def test_a_path_of_our_pages_is_kept_with_its_query(target: str) -> None:
    assert safe_next(target) == target


def _sign_in(api: Api, target: str) -> str:
    token = api.token(CLINICIAN.user, "clinician", SITE)
    data = {"token": token, "next": target, "_csrf_token": csrf(api)}
    response = api.client.post("/ui/sign-in", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return str(response.headers["location"])


@pytest.mark.parametrize("target", REFUSED[:8])
def test_signing_in_never_redirects_off_our_pages(api: Api, target: str) -> None:
    assert _sign_in(api, target) == "/ui/"
    api.client.cookies.clear()


def test_signing_in_returns_to_the_page_and_query_the_user_was_going_to(api: Api) -> None:
    going = "/ui/predict?model=whas500-mortality"
    response = api.client.get(going, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location == "/ui/sign-in?next=/ui/predict%3Fmodel%3Dwhas500-mortality"
    page = api.client.get(location).text
    assert f'name="next" value="{going}"' in page
    assert _sign_in(api, going) == going
    assert "whas500-mortality" in api.client.get(going).text
