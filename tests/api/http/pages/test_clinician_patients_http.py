"""Patients, consents, patient twins and the what-if page through the real app: the same
service calls as the API, each change and each read audited, bad input shown beside the
form and recorded, CSRF on every form."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from api.cli.demo import CLINICIAN
from api.cli.demo_twin import demo_observations
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, twin_named
from tests.api.http.pages.clinician import consented, csrf, predict_form, sign_in_clinician
from tests.conftest import Api

VANCO = "vancomycin-auc"


def _post(api: Api, path: str, data: Mapping[str, object], follow: bool = True) -> tuple[int, str]:
    token = csrf(api, "/ui/patients")
    response = api.client.post(path, data={**data, "_csrf_token": token}, follow_redirects=follow)
    assert response.headers["content-type"].startswith("text/html"), response.headers
    return response.status_code, html.unescape(response.text)


def _count(api: Api, action: str) -> int:
    return len(api.service.audit.records(action=action, limit=10_000))


def test_register_grant_and_withdraw_from_the_pages(api: Api) -> None:
    sign_in_clinician(api, "/ui/patients")
    status, page = _post(api, "/ui/patients", {"patient_id": "pg-1"})
    assert status == 200 and "Patient registered." in page
    assert 'data-testid="no-consents"' in page
    status, page = _post(
        api,
        "/ui/patients/pg-1/consents",
        {
            "purpose": "treatment",
            "data_categories": ["labs", "vitals"],
            "valid_until": "2099-01-01",
        },
    )
    assert status == 200, page[:2000]
    assert "Consent recorded for treatment: labs, vitals." in page
    assert 'data-testid="consent-treatment-active"' in page
    (consent,) = api.service.patients.consents(CLINICIAN, "pg-1")
    assert consent.data_categories == ("labs", "vitals")
    assert consent.valid_until is not None and consent.valid_until.year == 2099
    status, page = _post(api, f"/ui/patients/pg-1/consents/{consent.id}/withdraw", {})
    assert status == 200 and "Consent for treatment withdrawn" in page
    assert 'data-testid="consent-treatment-withdrawn"' in page
    for action in ("patient.register", "consent.grant", "consent.withdraw"):
        assert _count(api, action) == 1, action
    assert _count(api, "consent.read") >= 3  # every page showing the consents read them
    assert _count(api, "twin.list.read") >= 3


def test_bad_consent_input_is_shown_beside_the_form_and_recorded(api: Api) -> None:
    sign_in_clinician(api, "/ui/patients")
    _post(api, "/ui/patients", {"patient_id": "pg-2"})
    before = _count(api, "request.refused")
    status, page = _post(api, "/ui/patients/pg-2/consents", {"purpose": "treatment"})
    assert status == 422
    assert re.search(
        r'data-testid="error">data_categories must be a non-empty list[^<]*audit', page
    )
    assert _count(api, "request.refused") == before + 1
    assert api.service.patients.consents(CLINICIAN, "pg-2") == []
    status, page = _post(api, "/ui/patients", {"patient_id": "a/b"})
    assert status == 422 and "patient_id must be 1-128 printable characters" in page


def test_the_page_forms_need_their_csrf_token(api: Api) -> None:
    sign_in_clinician(api, "/ui/patients")
    response = api.client.post("/ui/patients", data={"patient_id": "pg-3"}, follow_redirects=False)
    assert response.status_code == 403
    assert _count(api, "patient.register") == 0


def test_an_unknown_patient_is_offered_for_registration(api: Api) -> None:
    sign_in_clinician(api, "/ui/patients")
    response = api.client.get("/ui/patients?patient_id=nobody-here", follow_redirects=True)
    assert response.status_code == 404
    assert "no patient with this id is registered" in response.text
    assert 'id="patient_id" name="patient_id" required maxlength="128" value="nobody-here"' in (
        response.text
    )
    assert _count(api, "consent.read.refused") == 1


def test_a_withheld_prediction_for_want_of_consent_links_to_the_patient(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, "whas500-mortality")
    api.service.patients.register(CLINICIAN, "pg-4", "st-mary")
    sign_in_clinician(api)
    form = predict_form(twin, "pg-4", features_of(twin))
    response = api.client.post(
        "/ui/predict", data={**form, "_csrf_token": csrf(api, "/ui/predict")}
    )
    assert response.status_code == 403
    assert 'data-testid="fix-consent">' in response.text
    assert 'href="/ui/patients/pg-4"' in response.text


def test_the_twin_page_calibrates_recommends_and_forecasts(
    api: Api, mechanistic_twins: list[DemoTwin]
) -> None:
    twin = twin_named(mechanistic_twins, VANCO)
    consented(api.service, "pg-5", twin)
    api.service.patients.grant(CLINICIAN, "pg-5", "treatment", ["history"], None, None)
    sign_in_clinician(api, "/ui/patients")
    status, page = _post(api, "/ui/patients/pg-5/twins", {"model": VANCO, "purpose": "treatment"})
    assert status == 200 and 'data-testid="no-state"' in page, page[:2000]
    twin_id = re.search(r"/ui/patients/pg-5/twins/([0-9a-f-]{36})/calibrate", page)
    assert twin_id
    base = f"/ui/patients/pg-5/twins/{twin_id.group(1)}"
    api.service.twins.ingest(CLINICIAN, "pg-5", demo_observations(), None, None)
    status, page = _post(api, base + "/calibrate", {})
    assert status == 200 and "Calibrated: state 1." in page, page[:3000]
    assert re.search(r"clearance \(CL\)</th><td class=\"n\">[\d.]+ L/h</td><td class=\"small\">"
                     r"90% posterior interval [\d.]+\u2013[\d.]+ L/h", page)  # fmt: skip
    status, page = _post(api, base + "/recommend", {"target_low": "400", "target_high": "600"})
    assert status == 200 and 'data-testid="regimens"' in page, page[:3000]
    start = re.search(r'id="start" name="start" type="datetime-local" value="([^"]+)"', page)
    assert start
    dose = re.search(r'id="dose_mg" name="dose_mg" type="number" step="any" value="([^"]+)"', page)
    assert dose
    asked = {"dose_mg": dose.group(1), "interval_h": "12", "n_doses": "6", "horizon_h": "72",
             "start": start.group(1)}  # fmt: skip
    status, page = _post(api, base + "/forecast", asked)
    assert status == 200 and 'data-testid="forecast-band"' in page, page[:3000]
    assert re.search(
        r'data-testid="forecast-verdict">(within|above|below) the 400\u2013600 mg·h/L', page
    )
    assert 'data-testid="thread"' in page and 'data-testid="observations"' in page
    assert _count(api, "twin.thread.read") >= 4  # every view of the twin read its thread
    for action in ("twin.create", "twin.calibration", "twin.recommendation", "twin.forecast"):
        assert _count(api, action) == 1, action


def test_a_bad_forecast_request_is_shown_on_the_twin_page_and_recorded(
    api: Api, mechanistic_twins: list[DemoTwin]
) -> None:
    twin = twin_named(mechanistic_twins, VANCO)
    consented(api.service, "pg-6", twin)
    created = api.service.twins.create(CLINICIAN, "pg-6", VANCO, None, "treatment")
    sign_in_clinician(api, "/ui/patients")
    before = _count(api, "request.refused")
    asked = {"dose_mg": "lots", "interval_h": "12", "n_doses": "6", "horizon_h": "72",
             "start": "2026-03-03T08:00"}  # fmt: skip
    status, page = _post(api, f"/ui/patients/pg-6/twins/{created.id}/forecast", asked)
    assert status == 422 and "dose mg must be a number" in page
    assert _count(api, "request.refused") == before + 1
    assert _count(api, "twin.forecast") == 0


def test_what_if_compares_regimens_side_by_side(
    api: Api, mechanistic_twins: list[DemoTwin]
) -> None:
    twin = twin_named(mechanistic_twins, VANCO)
    consented(api.service, "pg-7", twin)
    sign_in_clinician(api, "/ui/simulate")
    page = api.client.get(f"/ui/simulate?model={VANCO}").text
    assert 'name="s2_f_dose_mg"' in page
    form = {"model": VANCO, "patient_id": "pg-7", "purpose": "treatment", "output": "auc24",
            "f_creatinine_clearance": "60", "f_weight": "80", "f_dose_mg": "625",
            "f_interval_h": "12", "s1_name": "current", "s2_name": "higher",
            "s2_f_dose_mg": "1000"}  # fmt: skip
    response = api.client.post(
        "/ui/simulate", data={**form, "_csrf_token": csrf(api, "/ui/simulate")}
    )
    page = html.unescape(response.text)
    assert response.status_code == 200, page[:3000]
    assert re.findall(r'data-testid="scenario-name">([^<]+)<', page) == ["current", "higher"]
    verdicts = re.findall(r'data-testid="scenario-verdict">([^<]+)<', page)
    assert verdicts == [
        "within the 400\u2013600 mg·h/L target range",
        "above the 400\u2013600 mg·h/L target range",
    ], verdicts
    assert "Vancomycin dose per 1 h infusion: 1000 mg" in page
    assert 'data-testid="trajectories"' in page
    assert _count(api, "simulation") == 2
    again = api.client.post(
        "/ui/simulate/again", data={**form, "_csrf_token": csrf(api, "/ui/simulate")}
    )
    assert 'name="s2_f_dose_mg" type="number"' in again.text and 'value="1000"' in again.text


def test_client_text_on_the_clinician_pages_is_data(
    api: Api, mechanistic_twins: list[DemoTwin]
) -> None:
    """A patient id and a scenario name that look like markup are shown as text."""
    hostile = "<b>x<\\b>$\\frac{1}{0}$"
    twin = twin_named(mechanistic_twins, VANCO)
    consented(api.service, hostile, twin)
    sign_in_clinician(api, "/ui/patients")
    response = api.client.post(
        "/ui/patients", data={"patient_id": hostile, "_csrf_token": csrf(api, "/ui/patients")}
    )
    assert response.status_code == 200
    assert "<b>x" not in response.text and "&lt;b&gt;x" in response.text
    form = {"model": VANCO, "patient_id": hostile, "purpose": "treatment",
            "f_creatinine_clearance": "60", "f_weight": "80", "f_dose_mg": "625",
            "f_interval_h": "12", "s1_name": hostile}  # fmt: skip
    response = api.client.post(
        "/ui/simulate", data={**form, "_csrf_token": csrf(api, "/ui/simulate")}
    )
    assert response.status_code == 200, response.text[:2000]
    assert "<b>x" not in response.text
    assert 'data-testid="scenario-name">&lt;b&gt;x' in response.text
    assert 'data-testid="trajectories"' in response.text
