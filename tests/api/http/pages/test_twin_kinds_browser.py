"""The patient twin's page of each kind in headless Chromium: a glucose, a Windkessel and a
radiotherapy twin fed with their observations, calibrated and forecast from the page's own
form (inputs in words with units), then shown with the calibrated state's estimates and
their 90 % posterior intervals in words with units, the forecast's band chart with the
measured observations, and the forecast's values with their units; each photographed at
1366 and 800 px with no horizontal overflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.cli.demo import CLINICIAN, SITE
from api.composition.service import TwinregService
from api.composition.tokens import issue_token
from api.http.pages.patients import patient_path
from tests.api.http.pages.screens import screenshot_dir, shoot
from tests.api.http.pages.web import Web
from tests.api.http.test_twin_radiotherapy_api import FRACTIONS, VOLUMES
from tests.api.http.test_twin_windkessel_api import VITALS
from tests.api.twin_glucose_record import CHUNK, record

#: Per kind: the model, the consent's categories, the observations, and what the page
#: must say in its form (an input with its unit), of the state (a parameter) and of the
#: forecast (a value's unit).
KINDS: dict[str, tuple[str, list[str], Any, str, str, str]] = {
    "glucose": (
        "glucose-t1d-tir",
        ["demographics", "history", "labs", "medication"],
        lambda: record(n_days=2),
        "Carbohydrates (g)",
        "insulin action on glucose use (Vmx)",
        "mg/dL",
    ),
    "windkessel": (
        "windkessel-map",
        ["vitals", "imaging"],
        lambda: VITALS,
        "Planned heart rate (bpm)",
        "peripheral resistance (Rp)",
        "mmHg",
    ),
    "radiotherapy": (
        "radiotherapy-response",
        ["imaging", "history", "medication"],
        lambda: FRACTIONS + VOLUMES,
        "Dose per fraction (Gy)",
        "radiosensitivity, linear term (\u03b1)",
        "cm³",
    ),
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_kind_of_patient_twin_has_its_forecast_form_and_views(
    web: Web, service: TwinregService, tmp_path: Path, name: str
) -> None:
    model, categories, observations, words, parameter, unit = KINDS[name]
    patient = f"kind-{name}"
    service.patients.register(CLINICIAN, patient, SITE)
    service.patients.grant(CLINICIAN, patient, "treatment", categories, None, None)
    twin = service.twins.create(CLINICIAN, patient, model, None, "treatment")
    rows = observations()
    for i in range(0, len(rows), CHUNK):  # under the per-request limit
        service.twins.ingest(CLINICIAN, patient, rows[i : i + CHUNK], None, None)
    page = f"{patient_path(patient)}/twins/{twin.id}"
    web.sign_in(issue_token(service.token_key, CLINICIAN.user, "clinician", SITE, 3600), page)
    web.open(page)
    form = web.testid("forecast-form")
    assert words in form.text and "Times in UTC" in form.text, form.text
    web.click("#calibrate")
    assert "Calibrated" in web.testid("notice").text, web.text()
    state = web.testid("state").text
    assert parameter in state and "90% posterior interval" in state, state
    web.click("#forecast")
    assert "Forecast from state" in web.testid("notice").text, web.text()
    web.open(page)  # the twin's page read again (the screenshots reload it)
    assert web.testid("forecast-band").is_displayed()
    assert web.driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", web.testid("forecast-band")
    )
    forecast = web.testid("forecast").text
    assert unit in forecast and "90%" in forecast, forecast
    shoot(web, screenshot_dir(tmp_path), f"twin-{name}")
