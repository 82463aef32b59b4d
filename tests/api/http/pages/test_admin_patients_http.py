"""Admins on the patients pages: bound to no site, they choose the site first (a page of
its own listing the sites with patients), then register patients, record and withdraw
consents there (``?site=`` as the API takes it), each change and read audited at that
site; clinicians stay at their own site (another site named is refused, audited)."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pytest

from api.cli.demo import CLINICIAN, SITE
from governance.errors import Forbidden
from governance.identity.principal import Principal
from tests.api.http.pages.clinician import csrf, sign_in_clinician
from tests.conftest import Api

ADMIN = Principal("ada", "admin")
OTHER = "st-luke"


def _sign_in_admin(api: Api) -> None:
    data = {"token": api.token(ADMIN.user, "admin"), "next": "/ui/patients",
            "_csrf_token": csrf(api)}  # fmt: skip
    assert api.client.post("/ui/sign-in", data=data, follow_redirects=False).status_code == 303


def _get(api: Api, path: str) -> tuple[int, str]:
    response = api.client.get(path)
    return response.status_code, html.unescape(response.text)


def _post(api: Api, path: str, data: Mapping[str, object]) -> tuple[int, str]:
    token = csrf(api, "/ui/patients?site=" + OTHER)
    response = api.client.post(path, data={**data, "_csrf_token": token})
    return response.status_code, html.unescape(response.text)


def _records(api: Api, action: str) -> list[dict[str, object]]:
    return api.service.audit.records(action=action, limit=10_000)


def test_an_admin_chooses_the_site_then_registers_and_consents_there(api: Api) -> None:
    api.service.patients.register(CLINICIAN, "known", SITE)
    _sign_in_admin(api)
    status, page = _get(api, "/ui/patients")
    assert status == 200 and 'data-testid="choose-site"' in page
    assert f'href="/ui/patients?site={SITE}"' in page  # the sites with patients, as links
    assert 'href="/ui/patients">Patients</a>' in page  # in the navigation
    status, page = _get(api, f"/ui/patients?site={OTHER}")
    assert status == 200 and f'<span data-testid="site">{OTHER}</span>' in page
    assert f'action="/ui/patients?site={OTHER}"' in page
    status, page = _post(api, f"/ui/patients?site={OTHER}", {"patient_id": "ad-1"})
    assert status == 200 and "Patient registered." in page, page[:3000]
    assert f'/ui/patients/ad-1/consents?site={OTHER}"' in page
    assert 'data-testid="create-twin"' not in page and "twins-by-clinicians" in page
    (registered,) = [b for b in _records(api, "patient.register") if b["site"] == OTHER]
    status, page = _post(api, f"/ui/patients/ad-1/consents?site={OTHER}",
                         {"purpose": "treatment", "data_categories": ["labs"]})  # fmt: skip
    assert status == 200 and "Consent recorded for treatment: labs." in page
    (consent,) = api.service.patients.consents(ADMIN, "ad-1", OTHER)
    status, page = _post(api, f"/ui/patients/ad-1/consents/{consent.id}/withdraw?site={OTHER}", {})
    assert status == 200 and "Consent for treatment withdrawn" in page
    (consent,) = api.service.patients.consents(ADMIN, "ad-1", OTHER)
    assert consent.status == "withdrawn"
    assert registered["patient"] and not api.service.patients.consents(CLINICIAN, "known")
    status, page = _get(api, "/ui/patients?site=" + OTHER + "&patient_id=ad-1")
    assert status == 200 and "ad-1" in page  # followed to the patient, at that site


def test_an_admin_registering_with_no_site_named_is_asked_for_one(api: Api) -> None:
    _sign_in_admin(api)
    token = csrf(api, "/ui/patients?site=" + OTHER)
    response = api.client.post("/ui/patients", data={"patient_id": "x", "_csrf_token": token})
    assert response.status_code == 422 and "name the site" in html.unescape(response.text)
    assert not api.service.patients.sites(ADMIN)  # nothing was registered


def test_a_clinician_stays_at_their_own_site(api: Api) -> None:
    api.service.patients.register(ADMIN, "ward-9", OTHER)
    sign_in_clinician(api, "/ui/patients")
    status, page = _get(api, "/ui/patients")
    assert status == 200 and 'data-testid="choose-site"' not in page
    assert f'<span data-testid="site">{SITE}</span>' in page
    refused = len(_records(api, "consent.read.refused"))
    status, page = _get(api, f"/ui/patients/ward-9?site={OTHER}")
    assert status == 403 and "ward-9" not in page.split("<main", 1)[-1].split("</h1>")[0]
    assert len(_records(api, "consent.read.refused")) == refused + 1
    token = csrf(api, "/ui/patients")
    response = api.client.post(f"/ui/patients?site={OTHER}",
                               data={"patient_id": "p-x", "_csrf_token": token})  # fmt: skip
    assert response.status_code == 403
    assert api.service.patients.sites(ADMIN) == [OTHER]  # p-x registered nowhere


def test_only_a_caller_bound_to_no_site_lists_the_sites(api: Api) -> None:
    api.service.patients.register(ADMIN, "ward-9", OTHER)
    with pytest.raises(Forbidden):
        api.service.patients.sites(CLINICIAN)
    with pytest.raises(Forbidden):
        api.service.patients.sites(Principal("val", "validator"))
    sign_in_clinician(api, "/ui/patients")
    assert OTHER not in _get(api, "/ui/patients")[1]
