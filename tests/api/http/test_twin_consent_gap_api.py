"""A consent withdrawn and then granted again leaves a gap in which observations were
refused (issue 14, gap b): the patient's twins are incomplete — calibrations, forecasts
and recommendations answer 409 saying why — until a clinician confirms each gap filled
(an observation timed inside it was sent since) or empty (none is), each confirmation
audited. A consent that lapses while another still covers the twin's data leaves none."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import prepare_patient
from tests.api.http.test_twins_api import audit_actions
from tests.api.twin_course import (
    COVARIATES,
    DOSES,
    LEVELS,
    P1,
    TWIN_CATEGORIES,
    VANCO,
    add,
    calibrate,
    dose,
)

REGIMEN = {"dose_mg": 1250, "interval_h": 12, "n_doses": 4, "start": "2026-03-03T08:00:00Z"}


def _grant(api: Any, categories: list[str]) -> str:
    r = api.client.post(P1 + "/consents", headers=api.clinician,
                        json={"purpose": "treatment", "data_categories": categories})  # fmt: skip
    assert r.status_code == 201, r.text
    consent: str = r.json()["id"]
    return consent


def _withdraw(api: Any, consent: str) -> str:
    r = api.client.post(f"{P1}/consents/{consent}/withdraw", headers=api.clinician)
    assert r.status_code == 200, r.text
    withdrawn: str = r.json()["withdrawn_at"]
    return withdrawn


def _twin(api: Any) -> tuple[str, str]:
    consent = prepare_patient(api, "p-1", TWIN_CATEGORIES)
    r = api.client.post(P1 + "/twins", json={"model": VANCO, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    assert add(api, COVARIATES + DOSES + LEVELS).status_code == 201
    twin: str = r.json()["twin_id"]
    assert calibrate(api, twin).status_code == 201
    return twin, consent


def _confirm(api: Any, twin: str, start: str, resolution: str) -> Any:
    return api.client.post(f"{P1}/twins/{twin}/consent-gaps", headers=api.clinician,
                           json={"start": start, "resolution": resolution})  # fmt: skip


def _refused_as_incomplete(api: Any, twin: str) -> str:
    """Every gated operation answers 409 naming the gap; returns the gap's start."""
    answers = [calibrate(api, twin)] + [
        api.client.post(f"{P1}/twins/{twin}/{route}", json=body, headers=api.clinician)
        for route, body in (("forecasts", REGIMEN), ("recommendations", {}))
    ]
    for r in answers:
        assert r.status_code == 409, r.text
        problem = r.json()
        assert "is incomplete" in problem["detail"] and "consent-gaps" in problem["detail"]
        assert "medication" in problem["detail"] and problem["audit_id"]
    detail: str = answers[0].json()["detail"]
    return detail.split("lapsed from ")[1].split(" to ")[0]


def test_a_gap_confirmed_empty_completes_the_twin(api: Any) -> None:
    twin, consent = _twin(api)
    withdrawn = _withdraw(api, consent)
    assert add(api, [dose("late", "2026-03-03T08:00:00Z")]).status_code == 403  # refused
    assert calibrate(api, twin).status_code == 403  # no consent: the gate withholds
    _grant(api, TWIN_CATEGORIES)
    start = _refused_as_incomplete(api, twin)
    assert start.replace("+00:00", "") == withdrawn.replace("Z", "").replace("+00:00", "")
    r = _confirm(api, twin, start, "filled")  # nothing was sent timed inside it
    assert r.status_code == 422 and r.json()["field"] == "resolution"
    r = _confirm(api, twin, "2026-01-01T00:00:00Z", "empty")
    assert r.status_code == 422 and r.json()["field"] == "start"
    thread = api.client.get(f"{P1}/twins/{twin}/thread", headers=api.clinician)
    assert thread.json()["status"] == "incomplete"
    r = _confirm(api, twin, start, "empty")
    assert r.status_code == 201, r.text
    thread = api.client.get(f"{P1}/twins/{twin}/thread", headers=api.clinician)
    assert thread.json()["status"] == "active"
    assert r.json()["open_gaps"] == 0 and r.json()["categories"] == sorted(TWIN_CATEGORIES)
    assert calibrate(api, twin).status_code == 201
    assert "twin.gap.confirm" in audit_actions(api)
    assert _confirm(api, twin, start, "empty").status_code == 422  # no longer open


def test_a_gap_filled_with_what_happened_in_it_completes_the_twin(api: Any) -> None:
    twin, consent = _twin(api)
    withdrawn = _withdraw(api, consent)
    _grant(api, TWIN_CATEGORIES)
    start = _refused_as_incomplete(api, twin)
    # the dose given during the gap, sent now that consent is back
    assert add(api, [dose("in-gap", withdrawn)]).status_code == 201
    r = _confirm(api, twin, start, "empty")
    assert r.status_code == 409 and "not empty" in r.json()["detail"]
    r = _confirm(api, twin, start, "filled")
    assert r.status_code == 201, r.text
    r = api.client.post(f"{P1}/twins/{twin}/recommendations", json={}, headers=api.clinician)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("still_covering", "gap"),
    [(TWIN_CATEGORIES, False), (["demographics", "labs", "history"], True)],
    ids=["another-consent-covers-everything", "another-covers-all-but-medication"],
)
def test_a_gap_is_what_no_consent_covered(api: Any, still_covering: list[str], gap: bool) -> None:
    twin, consent = _twin(api)
    _grant(api, still_covering)
    _withdraw(api, consent)
    _grant(api, TWIN_CATEGORIES)
    if gap:
        _refused_as_incomplete(api, twin)
    else:
        assert calibrate(api, twin).status_code == 201
