"""The clinician's pages in headless Chromium against the real app, each page and state
photographed at 1366 and 800 px wide (``TWINREG_SCREENSHOTS``, default a folder in the
system's temporary directory) with no horizontal overflow at either width."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from api.cli.demo import CLINICIAN, SITE
from api.cli.demo_twin import demo_observations
from api.composition.service import TwinregService
from api.composition.tokens import issue_token
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, twin_named
from tests.api.http.pages.clinician import consented
from tests.api.http.pages.web import Web

SHOTS = Path(os.environ.get("TWINREG_SCREENSHOTS", Path(tempfile.gettempdir()) / "twinreg-shots"))
WIDTHS = (1366, 800)
M = "whas500-mortality"
VANCO = "vancomycin-auc"


def shoot(web: Web, name: str) -> None:
    """The whole page at each width: saved, and no wider than the window."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver = web.driver
    try:
        for width in WIDTHS:
            driver.set_window_size(width, 900)
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, min(int(height) + 120, 7000))
            fits = driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert fits[0] <= fits[1], f"{name} overflows at {width} px: {fits}"
            path = SHOTS / f"clinician-{name}-{width}.png"
            driver.save_screenshot(str(path))
            assert path.stat().st_size > 5_000, path
    finally:
        driver.set_window_size(1280, 1600)


def _sign_in(web: Web, service: TwinregService, path: str) -> None:
    web.sign_in(issue_token(service.token_key, CLINICIAN.user, "clinician", SITE, 3600), path)
    assert web.path == path  # sign-in returns where the user was going, query included


def _fill(web: Web, patient: str, features: dict[str, float]) -> None:
    web.fill("#patient_id", patient)
    web.select("#purpose", "treatment")
    for name, value in features.items():
        web.enter(f"f_{name}", value)


def test_prediction_pages(web: Web, service: TwinregService, demo_twins: list[DemoTwin]) -> None:
    twin = twin_named(demo_twins, M)
    consented(service, "shot-1", twin)
    _sign_in(web, service, f"/ui/predict?model={M}")
    shoot(web, "predict-form")
    features = features_of(twin)
    _fill(web, "shot-1", {**features, "age": twin.card.envelope["age"][1] + 5})
    warning = web.testid("outside-f_age")
    assert warning.is_displayed(), "no warning before submit for a value outside the envelope"
    assert "Outside the validated population" in warning.text
    assert "a treatment request is withheld" in warning.text
    shoot(web, "predict-form-outside")
    web.fill("#f_age", repr(features["age"]))
    assert not web.testid("outside-f_age").is_displayed()
    web.click("#predict")
    assert web.testid("decision").text == "Released"
    assert web.testid("headline").text.startswith("Probability of death")
    assert web.testid("envelope").text == "Within the validated population"
    assert web.testid("range-short").text.startswith("90% range ")
    assert "50 refits on bootstrap resamples" in web.testid("uncertainty").text
    shoot(web, "result-classifier")
    web.find('[data-testid="attribution-detail"] summary').click()
    assert web.testid("waterfall").is_displayed()
    shoot(web, "result-classifier-log-odds")
    web.click("#again")
    assert web.find("#patient_id").get_attribute("value") == "shot-1"
    assert web.find(f"#f_gender_{features['gender']:g}").is_selected()
    shoot(web, "predict-form-again")
    web.click("#predict")
    web.find("#action-accepted").click()
    web.click("#override")
    assert "Recorded: accepted" in web.text()
    shoot(web, "override-recorded")


def test_survival_and_withheld_pages(
    web: Web, service: TwinregService, demo_twins: list[DemoTwin]
) -> None:
    cox = twin_named(demo_twins, "gbsg2-recurrence")
    consented(service, "shot-2", cox)
    _sign_in(web, service, f"/ui/predict?model={cox.name}")
    _fill(web, "shot-2", features_of(cox))
    web.click("#predict")
    assert "Event-free survival at 1826 days" in web.testid("decision-card").text
    assert web.testid("range-short").text.startswith("90% range ")
    shoot(web, "result-cox")
    forest = twin_named(demo_twins, "diabetes-progression")
    consented(service, "shot-4", forest)
    web.open(f"/ui/predict?model={forest.name}")
    _fill(web, "shot-4", features_of(forest))
    web.click("#predict")
    assert "patients like this one" in web.testid("uncertainty").text
    shoot(web, "result-forest")
    service.patients.register(CLINICIAN, "shot-3", SITE)
    web.open(f"/ui/predict?model={M}")
    _fill(web, "shot-3", features_of(twin_named(demo_twins, M)))
    web.click("#predict")
    assert web.testid("decision").text == "Withheld"
    assert web.testid("fix-consent").is_displayed()
    shoot(web, "result-withheld")


#: The vancomycin patient of the mechanistic page tests.
REGIMEN = {"creatinine_clearance": 60.0, "weight": 80.0, "dose_mg": 1750.0, "interval_h": 12.0}


def _vancomycin_patient(
    web: Web, service: TwinregService, twins: list[DemoTwin], patient: str, page: str
) -> None:
    """A consented patient, signed in on ``page`` of the vancomycin twin, the form filled."""
    consented(service, patient, twin_named(twins, VANCO))
    _sign_in(web, service, f"/ui/{page}?model={VANCO}")
    _fill(web, patient, REGIMEN)


def test_mechanistic_and_what_if_pages(
    web: Web, service: TwinregService, mechanistic_twins: list[DemoTwin]
) -> None:
    _vancomycin_patient(web, service, mechanistic_twins, "shot-4", "predict")
    regimen = REGIMEN
    web.click("#predict")
    assert web.testid("verdict").text == "above the 400\u2013600 mg·h/L target range"
    assert web.driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", web.testid("trajectory")
    )
    shoot(web, "result-vancomycin")
    web.open(f"/ui/simulate?model={VANCO}")
    _fill(web, "shot-4", {**regimen, "dose_mg": 625.0})
    web.fill("#s1_name", "current")
    web.fill("#s2_name", "1000 mg q12h")
    web.fill("#s2_f_dose_mg", "1000")
    web.fill("#s3_name", "1500 mg q24h")
    web.fill("#s3_f_dose_mg", "1500")
    web.fill("#s3_f_interval_h", "24")
    shoot(web, "what-if-form")
    web.click("#simulate")
    names = [e.text for e in web.all('[data-testid="scenario-name"]')]
    assert names == ["current", "1000 mg q12h", "1500 mg q24h"]
    assert web.testid("trajectories").is_displayed()
    shoot(web, "what-if-result")


def _hidden_overflow(web: Web) -> list[str]:
    """Boxes whose content is wider than they are (a table scrolled inside its wrap)."""
    found: list[str] = web.driver.execute_script(
        "return [...document.querySelectorAll('.table-wrap, table, form')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => (e.dataset.testid || e.className || e.tagName) + ' ' + e.scrollWidth"
        " + '>' + e.clientWidth)"
    )
    return found


def test_five_regimens_side_by_side_fit_at_800_px(
    web: Web, service: TwinregService, mechanistic_twins: list[DemoTwin]
) -> None:
    _vancomycin_patient(web, service, mechanistic_twins, "shot-6", "simulate")
    doses = {1: "625", 2: "1000", 3: "1250", 4: "1500", 5: "2000"}
    for i, dose in doses.items():
        web.fill(f"#s{i}_name", f"{dose} mg every 12 h")
        web.fill(f"#s{i}_f_dose_mg", dose)
    web.fill("#s5_name", "2000_mg_every_12_h_after_a_loading_dose_of_25_mg_per_kg")  # no break
    web.driver.set_window_size(800, 900)
    assert not _hidden_overflow(web)
    shoot(web, "what-if-form-5")
    web.click("#simulate")
    assert len(web.all('[data-testid="scenario-name"]')) == len(doses)
    for width in (1366, 800):
        web.driver.set_window_size(width, 900)
        assert not _hidden_overflow(web), width
    shoot(web, "what-if-result-5")


def _hidden_text(web: Web) -> list[str]:
    """The what-if table's fields whose text is wider or taller than the field shows."""
    found: list[str] = web.driver.execute_script(
        "return [...document.querySelectorAll('.scenarios input, .scenarios textarea')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)"
        ".map(e => e.id + ' ' + JSON.stringify(e.value) + ' ' + e.scrollWidth + 'x'"
        " + e.scrollHeight + '>' + e.clientWidth + 'x' + e.clientHeight)"
    )
    return found


def test_what_if_fields_show_what_was_typed_at_800_px(
    web: Web, service: TwinregService, mechanistic_twins: list[DemoTwin]
) -> None:
    _vancomycin_patient(web, service, mechanistic_twins, "shot-7", "simulate")
    web.fill("#f_dose_mg", "1750.25")
    for i in range(1, 6):
        web.fill(f"#s{i}_name", f"{1000 + 250 * i} mg every 12 h after a loading dose")
        web.fill(f"#s{i}_f_dose_mg", f"{1000 + 250 * i}.75")
        web.fill(f"#s{i}_f_interval_h", "12.5")
    web.fill("#s5_name", "2000_mg_every_12_h_after_a_loading_dose_of_25_mg_per_kg")  # no break
    for width in (1366, 800):
        web.driver.set_window_size(width, 900)
        assert not _hidden_text(web), width
        assert not _hidden_overflow(web), width
    web.driver.set_window_size(1280, 1600)
    shoot(web, "what-if-typed")
    web.click("#simulate")
    names = [e.text for e in web.all('[data-testid="scenario-name"]')]
    assert names[0] == "1250 mg every 12 h after a loading dose", names
    web.click("#again")
    assert web.find("#s1_name").get_attribute("value") == names[0]  # kept for another go
    web.driver.set_window_size(800, 900)
    assert not _hidden_text(web)
    web.driver.set_window_size(1280, 1600)


def test_patient_and_twin_pages(
    web: Web, service: TwinregService, mechanistic_twins: list[DemoTwin]
) -> None:
    _sign_in(web, service, "/ui/patients")
    shoot(web, "patients")
    web.fill("#patient_id", "shot-5")
    web.click("#register")
    assert "Patient registered." in web.testid("notice").text
    for category in ("demographics", "history", "labs", "medication"):
        web.find(f"#cat-{category}").click()
    web.click("#grant")
    assert "Consent recorded for treatment" in web.testid("notice").text
    web.find("#grant")  # the form is still there for another purpose
    web.select("#purpose", "research")
    web.find("#cat-labs").click()
    web.click("#grant")
    web.click('[data-testid="withdraw-research"]')
    assert "withdrawn" in web.testid("notice").text
    shoot(web, "patient")
    web.select("#twin_model", VANCO)
    web.click("#create-twin")
    assert web.testid("no-state").is_displayed()
    service.twins.ingest(CLINICIAN, "shot-5", demo_observations(), None, None)
    web.click("#calibrate")
    assert "Calibrated" in web.testid("notice").text
    web.click("#recommend")
    assert web.testid("regimens").find_elements(By.TAG_NAME, "tr")
    web.click("#forecast")
    assert web.testid("forecast-band").is_displayed()
    shoot(web, "twin")


@pytest.mark.parametrize("path", ["/ui/predict", "/ui/simulate", "/ui/patients"])
def test_clinician_navigation_reaches_each_page(
    web: Web, service: TwinregService, path: str
) -> None:
    _sign_in(web, service, "/ui/")
    assert path in web.links()
    web.open(path)
    assert web.find("h1").text
