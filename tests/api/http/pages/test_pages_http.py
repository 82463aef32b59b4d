"""Page protections checked over HTTP through the real app (no browser needed): CSRF on
every form, the session cookie's flags, no open redirect, security headers, revoked or
expired sessions, and the anchored public paths of the bearer middleware."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from api.cli.demo import SITE
from api.composition.tokens import issue_token
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, twin_named
from tests.conftest import Api

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _csrf(api: Api, path: str = "/ui/sign-in") -> str:
    response = api.client.get(path)
    match = CSRF.search(response.text)
    assert match, response.text[:500]
    return match.group(1)


def _sign_in(api: Api, token: str, next_path: str = "/ui/models") -> Any:
    return api.client.post(
        "/ui/sign-in",
        data={"token": token, "next": next_path, "_csrf_token": _csrf(api)},
        follow_redirects=False,
    )


def test_sign_in_sets_an_httponly_strict_cookie_and_audits_it(api: Api) -> None:
    response = _sign_in(api, api.token("erin", "ethics_board"))
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/models"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "twinreg_session" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie
    assert api.service.audit.records(action="ui.sign_in")[-1]["principal"]["user"] == "erin"


def test_forms_without_a_csrf_token_are_refused_and_change_nothing(api: Api) -> None:
    _sign_in(api, api.token("erin", "ethics_board"))
    before = api.service.lifecycle.version("whas500-mortality", "1").status
    for token in (None, "0" * 128):
        data = {"action": "suspend", "comment": "forged"}
        if token:
            data["_csrf_token"] = token
        response = api.client.post(
            "/ui/models/whas500-mortality/versions/1/actions", data=data, follow_redirects=False
        )
        assert response.status_code == 403
    assert api.service.lifecycle.version("whas500-mortality", "1").status == before


def test_sign_in_without_csrf_token_is_refused(api: Api) -> None:
    api.client.get("/ui/sign-in")
    response = api.client.post(
        "/ui/sign-in", data={"token": api.token("erin", "ethics_board")}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "twinreg_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/ui/", "/v1/audit/records", "/ui/\\x"]
)
def test_no_open_redirect_after_sign_in(api: Api, target: str) -> None:
    response = _sign_in(api, api.token("erin", "ethics_board"), target)
    assert response.headers["location"] == "/ui/"


def test_pages_carry_security_headers(api: Api) -> None:
    response = api.client.get("/ui/sign-in")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_revoked_or_expired_session_goes_back_to_sign_in(api: Api) -> None:
    token = api.token("erin", "ethics_board")
    assert _sign_in(api, token).status_code == 303
    assert api.client.get("/ui/ethics").status_code == 200
    api.service.revocations.revoke("test", subject="erin")
    response = api.client.get("/ui/ethics", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/sign-in")
    expired = issue_token(api.service.token_key, "erin", "ethics_board", None, -10)
    api.client.cookies.set("twinreg_session", expired, path="/ui")
    response = api.client.get("/ui/models", follow_redirects=False)
    assert response.status_code == 303
    refusals = api.service.audit.records(action="auth.refused")
    assert any("expired" in r["reason"] for r in refusals)


def test_a_session_with_unreadable_policies_is_refused_and_audited(api: Api) -> None:
    assert _sign_in(api, api.token("erin", "ethics_board")).status_code == 303
    (api.service.settings.policies_dir / "rbac_model.conf").write_text("[request_definition")
    api.service.policies.invalidate()
    before = api.service.audit.count()
    response = api.client.get("/ui/ethics", follow_redirects=False)
    assert response.status_code == 503, response.text[:300]
    assert "the policies cannot be read" in response.text
    assert "rbac_model.conf" not in response.text  # the reason stays on the server
    assert api.service.audit.count() == before + 1
    refusal = api.service.audit.records(action="auth.refused")[-1]
    assert (refusal["path"], refusal["method"]) == ("/ui/ethics", "page")
    assert refusal["reason"].startswith("policies unavailable: ")


def test_bearer_tokens_do_not_open_pages(api: Api) -> None:
    response = api.client.get("/ui/models", headers=api.ethics, follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize(
    "path", ["/v1/patients/health/consents", "/v1/models/schema", "/v1/models/ui"]
)
def test_public_path_names_inside_api_paths_still_need_a_token(api: Api, path: str) -> None:
    """The bearer middleware's exclusions are anchored: a patient or model named like a
    public path is not a way around authentication."""
    response = api.client.get(path)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_dashboard_exports_json_csv_and_html_with_the_session(api: Api) -> None:
    assert _sign_in(api, api.token("erin", "ethics_board")).status_code == 303
    expected = {
        "json": ("application/json", "attachment"),
        "csv": ("text/csv", "attachment"),
        "html": ("text/html", "inline"),
    }
    for fmt, (media, disposition) in expected.items():
        response = api.client.get(f"/ui/ethics/export?format={fmt}&period=last-month")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media)
        assert response.headers["content-disposition"].startswith(disposition)
    csv_body = api.client.get("/ui/ethics/export?format=csv").text
    assert csv_body.splitlines()[0] == "section,row,field,value"
    reads = api.service.audit.records(action="report.read")
    assert {r["format"] for r in reads} >= {"json", "csv", "html"}
    assert api.client.get("/ui/ethics/export?format=xml").status_code == 422


def test_exports_are_refused_to_other_roles(api: Api) -> None:
    assert _sign_in(api, api.clinician["Authorization"].split()[1]).status_code == 303
    response = api.client.get("/ui/ethics/export?format=csv")
    assert response.status_code == 403
    assert "section,row" not in response.text


@pytest.mark.parametrize(
    "query", ["until=9999-12-31", "until=0001-01-05", "since=0001-01-01&until=0001-01-01"]
)
def test_dashboard_periods_at_the_ends_of_the_calendar(api: Api, query: str) -> None:
    """The day after ``until`` and the 30 days before it are clamped to dates that exist:
    a period at either end of the calendar is a report, not a 500."""
    assert _sign_in(api, api.token("erin", "ethics_board")).status_code == 303
    assert api.client.get(f"/ui/ethics?{query}").status_code == 200
    response = api.client.get(f"/ui/ethics/export?format=json&{query}")
    assert response.status_code == 200, response.text


def test_a_session_revoked_while_its_prediction_is_decided_goes_back_to_sign_in(
    api: Api, demo_twins: list[DemoTwin], monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = twin_named(demo_twins, "whas500-mortality")
    prepare_patient(api, "page-r1", list(twin.card.data_categories))
    assert _sign_in(api, api.token("carol", "clinician", SITE), "/ui/predict").status_code == 303
    form = {"model": twin.name, "patient_id": "page-r1", "purpose": "treatment"}
    form |= {f"f_{name}": str(value) for name, value in features_of(twin).items()}
    form["_csrf_token"] = _csrf(api, "/ui/predict")
    decided = len(api.service.audit.records(action="prediction", limit=1000))
    # the revocation lands after the session's check and before the gate reads its facts
    monkeypatch.setattr(api.service, "is_revoked", lambda *_: False)
    api.service.revocations.revoke("test", subject="carol")
    response = api.client.post("/ui/predict", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"].startswith("/ui/sign-in")
    refusal = api.service.audit.records(action="auth.refused")[-1]
    assert (refusal["path"], refusal["method"]) == ("/ui/predict", "page")
    assert refusal["reason"] == "the token has been revoked"
    assert len(api.service.audit.records(action="prediction", limit=1000)) == decided


def test_the_version_page_shows_a_clamped_feature(api: Api) -> None:
    """Vancomycin's creatinine clearance: accepted to 200, used as at most 150."""
    _sign_in(api, api.token("victor", "validator"))
    page = api.client.get("/ui/models/vancomycin-auc/versions/1")
    assert page.status_code == 200
    assert 'data-testid="clamp-creatinine_clearance">used as 5 \u2013 150<' in page.text


def test_the_dossier_on_the_version_page_shows_the_explainer_background(api: Api) -> None:
    """Size and source of the rows the explanations are taken against."""
    _sign_in(api, api.token("victor", "validator"))
    page = api.client.get("/ui/models/whas500-mortality-logit/versions/1")
    assert page.status_code == 200
    assert '<p data-testid="dossier-background">Background: 100 rows; registered with the' in (
        page.text
    )


def test_the_dossier_shows_how_each_patient_range_is_found_and_how_it_held(api: Api) -> None:
    """The validator reads each version's range method, the ranges' widths over the
    held-out rows and, for a range of the outcome, how often the outcome fell inside."""
    _sign_in(api, api.token("victor", "validator"))
    page = html.unescape(api.client.get("/ui/models/diabetes-progression/versions/1").text)
    ranges = re.search(r'data-testid="dossier-ranges">(.*?)</p>', page, re.S)
    assert ranges, page[:3000]
    text = re.sub(r"<[^>]+>|\s+", " ", ranges.group(1))
    assert "split-conformal on the out-of-bag residuals" in text
    assert "a range of the outcome. Over the 133 held-out rows: median width" in text
    coverage = re.search(r'data-testid="range-coverage">(\d+) %<', page)
    assert coverage and 82 <= int(coverage.group(1)) <= 97
    page = html.unescape(api.client.get("/ui/models/gbsg2-recurrence/versions/1").text)
    ranges = re.search(r'data-testid="dossier-ranges">(.*?)</p>', page, re.S)
    assert ranges and "200 refits on bootstrap" in ranges.group(1)
    assert "a range of the estimate" in ranges.group(1) and " points (one in ten" in ranges.group(1)
    assert "range-coverage" not in ranges.group(1)
    page = html.unescape(api.client.get("/ui/models/vancomycin-auc/versions/1").text)
    assert "none registered with this version" in page
