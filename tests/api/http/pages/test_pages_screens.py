"""Each validator and ethics-board page, and every kind of /ui error page, in a real
headless Chromium at 1366 and 800 px: screenshots taken (``TWINREG_TEST_SCREENSHOTS``
keeps them), no horizontal overflow, and what each user came for is on the page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

import governance.audit.chain as chain_module
from api.cli.bench_reports import decision_payload
from api.cli.demo import DATA_SCIENTIST, VALIDATOR
from api.composition.service import TwinregService
from api.composition.tokens import issue_token
from governance.clock import utcnow
from models.demo_twins import DemoTwin
from tests.api.helpers import twin_named
from tests.api.http.pages.screens import screenshot_dir, shoot
from tests.api.http.pages.web import Web

LOGIT = "whas500-mortality-logit"
CONSENT = ("consent", "no active consent for purpose 'treatment' covering ['labs']")
ENVELOPE = ("envelope", "outside the validated population envelope: age not in [30, 104]")


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    return screenshot_dir(tmp_path / "screens")


def _token(service: TwinregService, user: str, role: str) -> str:
    return issue_token(service.token_key, user, role, None, 3600)


def _register(service: TwinregService, twin: DemoTwin) -> str:
    background = pd.DataFrame(twin.background, columns=list(twin.card.feature_names))
    return service.register_version(
        DATA_SCIENTIST, twin.name, twin.card.kind, twin.model, twin.card, twin.evaluation,
        background, twin.uncertainty,
    ).version  # fmt: skip


def _displayed(web: Web, testid: str) -> bool:
    return bool(web.testid(testid).is_displayed())


def test_validator_pages(
    web: Web, service: TwinregService, demo_twins: list[DemoTwin], shots: Path
) -> None:
    candidate = _register(service, twin_named(demo_twins, LOGIT))
    service.run_bias_audit(VALIDATOR, LOGIT, candidate)
    service.run_dossier(VALIDATOR, LOGIT, candidate)
    unready = _register(service, twin_named(demo_twins, "diabetes-progression"))
    web.sign_in(_token(service, "vera", "validator"), "/ui/models")
    shoot(web, shots, "catalogue")

    web.open(f"/ui/models/{LOGIT}/versions/{candidate}")
    assert "every precondition met" in web.testid("readiness").text
    assert _displayed(web, "change-control-table")
    assert "non-inferior" in web.testid("change-control-table").text
    assert "female (1)" in web.testid("subgroups-gender").text
    assert "max_tpr_gap" in web.testid("gaps-gender").text
    assert "by the delta method" in web.testid("dossier-ranges").text
    shoot(web, shots, "version-candidate-ready")

    web.open(f"/ui/models/diabetes-progression/versions/{unready}")
    assert "3 of 4 preconditions missing" in web.testid("readiness").text
    assert _displayed(web, "approve-missing")
    assert web.all('[data-testid="action-approve"]') == []
    shoot(web, shots, "version-preconditions-missing")
    web.click('[data-testid="action-bias_audit"] button')
    assert "Bias audit recorded" in web.testid("notice").text
    assert "1 of 4 preconditions missing" in web.testid("readiness").text  # the dossier
    shoot(web, shots, "version-bias-audit-run")

    web.open("/ui/models/vancomycin-auc/versions/1")
    assert "65 years and over (2)" in web.testid("subgroups-age_band").text
    assert _displayed(web, "verification-checks")
    shoot(web, shots, "version-mechanistic")

    web.open(f"/ui/models/{LOGIT}/versions/{candidate}")
    form = web.testid("action-approve")
    form.find_element(By.NAME, "comment").send_keys("change control and subgroups reviewed")
    web.click("button", within=form)
    assert web.testid("status").text == "approved"
    assert web.all('[data-testid="readiness"]') == []  # nothing left to approve
    shoot(web, shots, "version-approved")


def _decisions_over_weeks(service: TwinregService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five weeks of decisions at three sites for three models, written through the chain."""
    now = utcnow()
    models = ("whas500-mortality", "vancomycin-auc", "gbsg2-recurrence")
    sites = ("st-mary", "north", "west")
    for i in range(60):
        when = now - timedelta(days=i * 0.55)
        monkeypatch.setattr(chain_module, "utcnow", lambda when=when: when)
        model, site = models[i % 3], sites[(i // 3) % 3]
        if i % 4 == 1:
            body = decision_payload("withheld", "1", CONSENT, model=model, site=site)
        elif i % 7 == 2:
            body = decision_payload("withheld", "1", ENVELOPE, model=model, site=site)
        else:
            body = decision_payload("released", "1", model=model, site=site)
        service.audit.append("prediction", body)
    monkeypatch.undo()


def test_ethics_board_pages(
    web: Web, service: TwinregService, shots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _decisions_over_weeks(service, monkeypatch)
    web.sign_in(_token(service, "erin", "ethics_board"), "/ui/ethics")
    assert web.testid("verification").text.startswith("Chain intact")
    assert len(web.all("h2")) == len({h.text for h in web.all("h2")})  # one chain section
    assert web.driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", web.testid("trend-chart")
    ), "the weekly chart did not render"
    assert len(web.testid("trend-table").find_elements(By.TAG_NAME, "tr")) >= 5
    shoot(web, shots, "ethics-dashboard")

    web.select("#model", "vancomycin-auc")
    web.select("#reason", "consent")
    web.click("#show")
    assert "model=vancomycin-auc" in web.path and "reason=consent" in web.path
    rows = web.testid("withheld").find_elements(By.CSS_SELECTOR, "tr")[1:]
    assert rows and all("vancomycin-auc" in r.text and "consent" in r.text for r in rows)
    shoot(web, shots, "ethics-dashboard-filtered")

    web.click('[data-testid="audit-link"]')
    assert web.path.startswith("/ui/ethics/audit/")
    assert "withheld" in web.testid("record-decision").text
    assert "failed" in web.testid("record-checks").text
    shoot(web, shots, "ethics-audit-record")
    web.click('[data-testid="back-to-dashboard"]')
    assert web.path == "/ui/ethics"

    web.open("/ui/ethics/export?format=html")
    assert web.driver.title.startswith("Ethics-board report")
    shoot(web, shots, "ethics-export-printable")


@pytest.mark.parametrize(
    ("role", "path", "title", "back"),
    [
        ("ethics_board", "/ui/no-such-page", "404 · Page not found", "Back to the start page"),
        ("ethics_board", "/ui/ethics?since=bad", "400 · Invalid request", "ethics-board dashboard"),
        ("validator", "/ui/ethics", "403 · Forbidden", "Back to the ethics-board dashboard"),
        ("validator", "/ui/sign-out", "405 · Method not allowed", "Back to the start page"),
        ("validator", "/ui/models/no-such-model/versions/1", "404 · Not found", "model catalogue"),
        (
            "ethics_board",
            "/ui/ethics/audit/00000000-0000-4000-8000-000000000000",
            "404 · Not found",
            "ethics-board dashboard",
        ),
    ],
)
def test_error_pages(
    web: Web, service: TwinregService, shots: Path, role: str, path: str, title: str, back: str
) -> None:
    web.sign_in(_token(service, "erin" if role == "ethics_board" else "vera", role))
    web.open(path)
    assert web.testid("error-title").text == title
    assert back in web.testid("way-back").text
    assert web.testid("who").text.endswith(role)  # the navigation is there too
    name = "error-" + title.split(" · ")[0] + "-" + path.strip("/").split("/")[1].split("?")[0]
    shoot(web, shots, name)


def test_a_bad_date_range_from_the_form_is_a_page_with_the_way_back(
    web: Web, service: TwinregService, shots: Path
) -> None:
    web.sign_in(_token(service, "erin", "ethics_board"), "/ui/ethics")
    for field, day in (("#since", "2026-05-02"), ("#until", "2026-05-01")):
        web.driver.execute_script("arguments[0].value = arguments[1]", web.find(field), day)
    web.click("#show")
    assert web.testid("error-title").text == "422 · Invalid request"
    assert "the first day must not be after the last day" in web.testid("error").text
    shoot(web, shots, "error-422-date-range")
    web.click('[data-testid="way-back"] a')
    assert web.path == "/ui/ethics" and web.testid("verification").text
