"""An admin's patients pages in headless Chromium: the site chosen on its own page, then a
patient registered and a consent recorded at that site; each page photographed at 1366
and 800 px with no horizontal overflow."""

from __future__ import annotations

from pathlib import Path

from api.cli.demo import CLINICIAN, SITE
from api.composition.service import TwinregService
from api.composition.tokens import issue_token
from tests.api.http.pages.screens import screenshot_dir, shoot
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
