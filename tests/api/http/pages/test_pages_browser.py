"""The pages in a real headless Chromium against the real app in a uvicorn process: each
role signs in with a token, sees what it may see, and is refused what it may not."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from api.cli.demo import CLINICIAN, DATA_SCIENTIST, SITE
from api.composition.service import TwinregService
from api.composition.tokens import issue_token
from governance.oversight.overrides import OVERRIDE_AUDIT_ACTION
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, twin_named
from tests.api.http.pages.web import Web

M = "whas500-mortality"
LOGIT = "whas500-mortality-logit"


def _token(service: TwinregService, user: str, role: str, site: str | None = None) -> str:
    return issue_token(service.token_key, user, role, site, 3600)


def _patient(service: TwinregService, patient: str, twin: DemoTwin, consent: bool) -> None:
    service.patients.register(CLINICIAN, patient, SITE)
    if consent:
        categories = list(twin.card.data_categories)
        service.patients.grant(CLINICIAN, patient, "treatment", categories, None, None)


def _predict(web: Web, model: str, patient: str, features: dict[str, float]) -> None:
    web.open(f"/ui/predict?model={model}")
    web.fill("#patient_id", patient)
    web.select("#purpose", "treatment")
    for name, value in features.items():
        web.enter(f"f_{name}", value)
    web.click("#predict")


def test_anonymous_is_sent_to_sign_in_and_a_bad_token_is_refused(web: Web) -> None:
    web.open("/ui/ethics")
    assert web.path.startswith("/ui/sign-in?next=/ui/ethics")
    web.find("#token").send_keys("not-a-token")
    web.click("#sign-in")
    assert "the token is invalid" in web.testid("error").text
    assert web.driver.get_cookie("twinreg_session") is None


def test_session_cookie_is_httponly_and_strict(web: Web, service: TwinregService) -> None:
    web.sign_in(_token(service, "erin", "ethics_board"), "/ui/models")
    cookie = web.driver.get_cookie("twinreg_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert "twinreg_session" not in web.driver.execute_script("return document.cookie")
    web.click("header form button")  # sign out
    assert web.path.startswith("/ui/sign-in")
    assert web.driver.get_cookie("twinreg_session") is None


def test_clinician_sees_an_explained_prediction_as_a_chart_and_records_an_override(
    web: Web, service: TwinregService, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, M)
    _patient(service, "page-p1", twin, consent=True)
    web.sign_in(_token(service, CLINICIAN.user, "clinician", SITE), "/ui/predict")
    assert web.path == "/ui/predict"
    _predict(web, M, "page-p1", features_of(twin))
    assert web.testid("decision").text == "Released"
    audit_id = web.testid("audit-id").text
    chart = web.testid("waterfall")
    assert web.driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", chart
    ), "the waterfall chart did not render"
    rows = web.testid("contributions").find_elements(By.TAG_NAME, "tr")
    assert len(rows) == len(twin.card.features) + 1
    web.find("#action-disregarded").click()
    web.fill("#reason", "patient already on palliative pathway")
    web.click("#override")
    assert "Recorded: disregarded" in web.text()
    assert audit_id in web.testid("override").text
    records = service.audit.records(action=OVERRIDE_AUDIT_ACTION)
    assert [r["decision_id"] for r in records] == [audit_id]


def test_clinician_without_consent_sees_why_it_was_withheld(
    web: Web, service: TwinregService, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, M)
    _patient(service, "page-p2", twin, consent=False)
    web.sign_in(_token(service, CLINICIAN.user, "clinician", SITE), "/ui/predict")
    _predict(web, M, "page-p2", features_of(twin))
    assert web.testid("decision").text == "Withheld"
    reasons = web.testid("reasons").text
    assert "consent" in reasons
    assert web.all('[data-testid="waterfall"]') == []
    assert web.all('[data-testid="value"]') == []


def test_clinician_may_not_open_the_dashboard_or_act_on_versions(
    web: Web, service: TwinregService
) -> None:
    web.sign_in(_token(service, CLINICIAN.user, "clinician", SITE), "/ui/")
    assert "/ui/ethics" not in web.links()
    web.open("/ui/ethics")
    assert web.testid("error-title").text.startswith("403")
    web.open(f"/ui/models/{M}/versions/1")
    assert web.testid("status").text == "approved"
    assert web.all("form[data-testid^=action-]") == []


def test_validator_reads_the_version_and_approves_a_new_one(
    web: Web, service: TwinregService, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, LOGIT)
    new = service.register_version(
        DATA_SCIENTIST, LOGIT, twin.card.kind, twin.model, twin.card, twin.evaluation
    )
    web.sign_in(_token(service, "vera", "validator"), "/ui/models")
    assert LOGIT in web.testid("catalogue").text
    web.open(f"/ui/models/{LOGIT}/versions/{new.version}")
    assert web.testid("status").text == "registered"
    assert web.all('[data-testid="action-suspend"]') == []
    web.click('[data-testid="action-bias_audit"] button')
    assert "Bias audit recorded" in web.testid("notice").text
    assert web.testid("bias-result").text == "Passed"
    assert web.find('[data-testid="subgroups-gender"]').text
    assert "No dossier on file yet" in web.text()
    web.click('[data-testid="action-dossier"] button')
    assert web.testid("dossier-result").text == "Passed"
    metrics = web.testid("dossier-metrics").text
    assert "auc" in metrics and "[" in metrics  # estimates with intervals
    assert web.testid("dossier-subgroups-gender").text
    assert web.testid("risk-level").text.isdigit()
    assert "Change control" in web.text() and web.testid("change-control").text
    for chart in ("importance-chart", "calibration-chart"):
        assert web.driver.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", web.testid(chart)
        ), chart
    form = web.testid("action-approve")
    form.find_element(By.NAME, "comment").send_keys("metrics and subgroup table reviewed")
    web.click("button", within=form)
    assert web.testid("status").text == "approved"
    assert "metrics and subgroup table reviewed" in web.testid("history").text
    web.open("/ui/predict")
    assert web.testid("error-title").text.startswith("403")


def test_registrant_cannot_approve_through_the_page(
    web: Web, service: TwinregService, demo_twins: list[DemoTwin]
) -> None:
    """Four-eyes holds on pages too: a validator who registered the version is refused."""
    twin = twin_named(demo_twins, LOGIT)
    new = service.register_version(
        DATA_SCIENTIST, LOGIT, twin.card.kind, twin.model, twin.card, twin.evaluation
    )
    web.sign_in(_token(service, DATA_SCIENTIST.user, "data_scientist"), "/ui/models")
    web.open(f"/ui/models/{LOGIT}/versions/{new.version}")
    assert web.all("form[data-testid^=action-]") == []


def test_ethics_board_sees_why_each_withheld_prediction_was_withheld_and_suspends(
    web: Web, service: TwinregService, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, M)
    _patient(service, "page-p3", twin, consent=False)
    web.sign_in(_token(service, CLINICIAN.user, "clinician", SITE), "/ui/predict")
    _predict(web, M, "page-p3", features_of(twin))
    withheld_id = web.testid("audit-id").text

    web.sign_in(_token(service, "erin", "ethics_board"), "/ui/ethics")
    assert web.testid("verification").text.startswith("Chain intact")
    table = web.testid("withheld")
    assert f"/ui/ethics/audit/{withheld_id}" in table.get_attribute("innerHTML")
    assert "consent" in table.text
    assert web.all("svg.chart"), "the report's charts are missing"
    web.click("#export-html")
    assert web.driver.title.startswith("Ethics-board report")
    assert withheld_id not in web.text()  # the printable export never lists audit ids
    assert web.all("svg.chart"), "the printable export's charts are missing"
    web.driver.back()
    web.click("#last-month")
    assert "period=last-month" in web.path
    # this month's, not last month's
    assert withheld_id not in web.testid("withheld").get_attribute("innerHTML")

    web.open(f"/ui/models/{M}/versions/1")
    form = web.testid("action-suspend")
    form.find_element(By.NAME, "comment").send_keys("drift reported by cardiology")
    web.click("button", within=form)
    assert web.testid("status").text == "suspended"
    assert web.all('[data-testid="action-approve"]') == []
    web.open("/ui/predict")
    assert web.testid("error-title").text.startswith("403")


@pytest.mark.parametrize("role", ["data_scientist", "admin"])
def test_other_roles_read_the_catalogue_only(web: Web, service: TwinregService, role: str) -> None:
    web.sign_in(_token(service, "someone", role), "/ui/models")
    assert M in web.testid("catalogue").text
    web.open(f"/ui/models/{M}/versions/1")
    assert web.all("form[data-testid^=action-]") == []
    for path in ("/ui/ethics", "/ui/predict"):
        web.open(path)
        assert web.testid("error-title").text.startswith("403"), path


def test_pages_load_nothing_from_other_origins(web: Web, service: TwinregService) -> None:
    web.sign_in(_token(service, "erin", "ethics_board"), "/ui/ethics")
    origins: Any = web.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert origins, "no resources were loaded at all"
    assert all(str(u).startswith(web.base) or str(u).startswith("data:") for u in origins)
