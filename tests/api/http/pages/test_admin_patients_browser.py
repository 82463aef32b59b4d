"""An admin's patients pages in headless Chromium: the site chosen on its own page, then a
patient registered and a consent recorded at that site, a patient's twin opened to read;
each page photographed at 1366 and 800 px with no horizontal overflow, and no card with an
empty band at its top."""

from __future__ import annotations

from pathlib import Path

from api.cli.demo import CLINICIAN, SITE
from api.cli.demo_twin import demo_observations
from api.composition.service import TwinregService
from api.composition.tokens import issue_token
from models.demo_twins import DemoTwin
from tests.api.helpers import twin_named
from tests.api.http.pages.clinician import consented
from tests.api.http.pages.screens import WIDTHS, card_top_gaps, screenshot_dir, shoot
from tests.api.http.pages.web import Web


def test_an_admin_chooses_a_site_and_registers_a_patient_there(
    web: Web, service: TwinregService, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    service.patients.register(CLINICIAN, "known", SITE)
    web.sign_in(issue_token(service.token_key, "ada", "admin", None, 3600), "/ui/patients")
    web.open("/ui/patients")
    assert [a.text for a in web.all('[data-testid="site-link"]')] == [SITE]
    shoot(web, shots, "admin-choose-site")
    web.fill("#site", "st-luke")
    web.click("#choose-site")
    assert web.testid("site").text == "st-luke"
    _cards_start_at_their_top(web, {"open-patient", "register-patient"})
    shoot(web, shots, "admin-patients-at-site")
    web.fill("#patient_id", "ad-2")
    web.click("#register")
    assert "Patient registered." in web.testid("notice").text
    web.find("#cat-labs").click()
    web.click("#grant")
    assert "Consent recorded for treatment: labs." in web.testid("notice").text
    assert web.testid("twins-by-clinicians").is_displayed()
    web.open("/ui/patients/ad-2?site=st-luke")  # read again (the screenshots reload it)
    assert web.testid("consent-treatment-active").is_displayed()
    shoot(web, shots, "admin-patient-at-site")


def _cards_start_at_their_top(web: Web, cards: set[str]) -> None:
    """Each card's heading sits at its top, at each width (the register card's hidden
    CSRF input once pushed its heading down by the heading's page margin)."""
    try:
        for width in WIDTHS:
            web.driver.set_window_size(width, 900)
            gaps = card_top_gaps(web)
            assert cards <= set(gaps), gaps
            assert all(gap <= 6 for gap in gaps.values()), (width, gaps)
    finally:
        web.driver.set_window_size(1280, 1600)


def test_an_admin_opens_a_patients_twin_to_read_it(
    web: Web, service: TwinregService, tmp_path: Path, mechanistic_twins: list[DemoTwin]
) -> None:
    shots = screenshot_dir(tmp_path)
    consented(service, "tw-9", twin_named(mechanistic_twins, "vancomycin-auc"))
    service.patients.grant(CLINICIAN, "tw-9", "treatment", ["history"], None, None)
    twin = service.twins.create(CLINICIAN, "tw-9", "vancomycin-auc", None, "treatment")
    service.twins.ingest(CLINICIAN, "tw-9", demo_observations(), None, None)
    service.twins.calibrate(CLINICIAN, "tw-9", twin.id)
    web.sign_in(issue_token(service.token_key, "ada", "admin", None, 3600), "/ui/patients")
    web.open(f"/ui/patients/tw-9?site={SITE}")
    assert web.testid("twins-by-clinicians").is_displayed()
    _cards_start_at_their_top(web, {"grant-form"})
    shoot(web, shots, "admin-patient-with-twin")
    web.click('[data-testid="twin-link"]')
    assert web.path == f"/ui/patients/tw-9/twins/{twin.id}?site={SITE}"
    assert web.testid("state").is_displayed() and web.testid("thread").is_displayed()
    assert web.testid("twin-read-only").is_displayed() and not web.all("#calibrate")
    shoot(web, shots, "admin-twin")
