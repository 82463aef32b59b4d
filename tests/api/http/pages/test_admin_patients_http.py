"""Admins on the patients pages: bound to no site, they choose the site first (a page of
its own listing the sites with patients), then register patients, record and withdraw
consents there (``?site=`` as the API takes it), each change and read audited at that
site; clinicians stay at their own site (another site named is refused, audited)."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pytest

from api.cli.demo import CLINICIAN, SITE
from api.cli.demo_twin import demo_observations
from governance.errors import Forbidden
from governance.identity.principal import Principal
from models.demo_twins import DemoTwin
from tests.api.helpers import twin_named
from tests.api.http.pages.clinician import consented, csrf, sign_in_clinician
from tests.conftest import Api

ADMIN = Principal("ada", "admin")
OTHER = "st-luke"
VANCO = "vancomycin-auc"


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


def _calibrated_twin(api: Api, twins: list[DemoTwin], patient: str) -> str:
    """A vancomycin twin of ``patient`` at the clinician's site, fed and calibrated."""
    consented(api.service, patient, twin_named(twins, VANCO))
    api.service.patients.grant(CLINICIAN, patient, "treatment", ["history"], None, None)
    twin = api.service.twins.create(CLINICIAN, patient, VANCO, None, "treatment")
    api.service.twins.ingest(CLINICIAN, patient, demo_observations(), None, None)
    api.service.twins.calibrate(CLINICIAN, patient, twin.id)
    return twin.id


def test_an_admin_opens_a_patients_twin_and_reads_it_without_acting(
    api: Api, mechanistic_twins: list[DemoTwin]
) -> None:
    twin_id = _calibrated_twin(api, mechanistic_twins, "tw-1")
    _sign_in_admin(api)
    status, page = _get(api, f"/ui/patients/tw-1?site={SITE}")
    twin_page = f"/ui/patients/tw-1/twins/{twin_id}?site={SITE}"
    assert status == 200 and f'href="{twin_page}" data-testid="twin-link"' in page, page[:4000]
    status, page = _get(api, twin_page)
    assert status == 200, page[:3000]
    assert 'data-testid="state"' in page and 'data-testid="observations"' in page
    assert 'data-testid="thread"' in page and f'href="/ui/patients/tw-1?site={SITE}"' in page
    assert 'data-testid="twin-read-only"' in page  # no buttons that would be refused
    assert 'id="calibrate"' not in page and 'data-testid="forecast-form"' not in page
    (read,) = [b for b in _records(api, "twin.thread.read") if b["principal"] == ADMIN.to_audit()]
    assert isinstance(read["records"], int) and read["records"] > 0
    assert f'data-testid="read-audit-id">{read["record_id"]}</code>' in page


def test_an_admin_is_refused_acting_on_a_twin_or_reading_it_without_a_site(
    api: Api, mechanistic_twins: list[DemoTwin]
) -> None:
    twin_id = _calibrated_twin(api, mechanistic_twins, "tw-2")
    _sign_in_admin(api)
    refused = len(_records(api, "request.refused"))
    status, page = _get(api, f"/ui/patients/tw-2/twins/{twin_id}")
    assert status == 422 and "site is required" in page
    status, page = _post(api, f"/ui/patients/tw-2/twins/{twin_id}/calibrate", {})
    assert status == 403 and "a clinician of the patient's site does" in page
    assert len(_records(api, "request.refused")) == refused + 2  # each refusal recorded
    assert api.service.twins.bank.twin(read_key(api, "tw-2"), twin_id).state == 1


def test_a_clinician_cannot_read_a_twin_of_another_site_by_naming_it(
    api: Api, mechanistic_twins: list[DemoTwin]
) -> None:
    twin_id = _calibrated_twin(api, mechanistic_twins, "tw-3")
    sign_in_clinician(api, "/ui/patients")
    refused = len(_records(api, "request.refused"))
    status, page = _get(api, f"/ui/patients/tw-3/twins/{twin_id}?site={OTHER}")
    assert status == 403 and 'data-testid="thread"' not in page
    assert len(_records(api, "request.refused")) == refused + 1


def read_key(api: Api, patient: str) -> str:
    return api.service.twins.patient(CLINICIAN, patient, "read", None)
