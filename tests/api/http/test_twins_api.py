"""Patient twins through the real app (issue 14): a vancomycin twin created, fed, calibrated,
forecast and dosed, its thread replayed; each refusal (no consent, erased patient,
suspended version, insufficient data, bad units, unsupported renal replacement)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from api.composition.twins import replay
from governance.audit.verify import verify
from governance.identity.principal import Principal
from governance.twins.views import Record
from tests.api.helpers import prepare_patient
from tests.api.twin_course import COVARIATES, DOSES, LEVELS, TWIN_CATEGORIES, VANCO, obs

CATS = TWIN_CATEGORIES
P = "/v1/patients/p-1"


@pytest.fixture()
def twin(api: Any) -> str:
    prepare_patient(api, "p-1", CATS)
    r = api.client.post(P + "/twins", json={"model": VANCO, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == 0 and body["model"] == VANCO and body["model_version"]
    twin_id: str = body["twin_id"]
    return twin_id


def add(api: Any, observations: list[dict[str, Any]], **extra: Any) -> Any:
    return api.client.post(P + "/observations", json={"observations": observations, **extra},
                           headers=api.clinician)  # fmt: skip


def calibrate(api: Any, twin_id: str) -> Any:
    return api.client.post(f"{P}/twins/{twin_id}/calibrations", headers=api.clinician)


def test_the_vancomycin_course_end_to_end_with_its_thread(api: Any, twin: str) -> None:
    r = add(api, COVARIATES + DOSES + LEVELS)
    assert r.status_code == 201, r.text
    assert len(r.json()["stored"]) == 10
    r = calibrate(api, twin)
    assert r.status_code == 201, r.text
    state = r.json()
    assert state["number"] == 1 and state["status"] == "converged"
    body = state["body"]
    assert body["prior_version"].startswith("goti2018")
    assert set(body["posterior"]) >= {"eta", "sd", "shrinkage", "parameters"}
    assert len(body["observation_ids"]) == 10
    regimen = {"dose_mg": 1250, "interval_h": 12, "n_doses": 4, "start": "2026-03-03T08:00:00Z"}
    r = api.client.post(f"{P}/twins/{twin}/forecasts", headers=api.clinician, json=regimen)
    assert r.status_code == 201, r.text
    fc = r.json()["body"]
    assert fc["forecast"]["auc24_low"] <= fc["forecast"]["auc24"] <= fc["forecast"]["auc24_high"]
    explained = fc["explanation"]
    total = explained["base"] + sum(v for _, v in explained["contributions"])
    assert total == pytest.approx(explained["value"], rel=1e-9)
    assert len(fc["influence"]) == 2  # each level's leave-one-out change of the MAP CL
    request = {"target": {"auc24": [400, 600]}, "intervals_h": [8, 12, 24],
               "dose_step_mg": 250, "max_daily_mg": 4000, "loading": False}  # fmt: skip
    r = api.client.post(f"{P}/twins/{twin}/recommendations", json=request, headers=api.clinician)
    assert r.status_code == 201, r.text
    regimens = r.json()["body"]["recommendation"]["regimens"]
    probabilities = [g["probability"] for g in regimens]
    assert probabilities == sorted(probabilities, reverse=True) and regimens
    r = api.client.get(f"{P}/twins/{twin}/thread", headers=api.clinician)
    assert r.status_code == 200, r.text
    thread = r.json()
    kinds = [rec["kind"] for rec in thread["records"]]
    assert kinds.count("state") == 1 and kinds[-2:] == ["forecast", "recommendation"]
    assert all(rec["audit_id"] for rec in thread["records"])
    # replaying the calibration from the thread reproduces the state exactly
    observations = [rec for rec in thread["records"] if rec["kind"] not in
                    ("state", "forecast", "recommendation")]  # fmt: skip
    stored = next(rec for rec in thread["records"] if rec["kind"] == "state")
    records = [Record(o["id"], o["kind"], datetime.fromisoformat(o["at"]), o["audit_id"], o["body"])
               for o in observations]  # fmt: skip
    assert replay(records, stored["body"]["observation_ids"]) == stored["body"]
    actions = [a for a in audit_actions(api) if a.startswith(("twin.", "observation."))]
    assert actions == ["twin.create", "observation.ingest", "twin.calibration", "twin.forecast",
                       "twin.recommendation", "twin.thread.read"]  # fmt: skip


def audit_actions(api: Any) -> list[str]:
    with api.service.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT action FROM audit_record ORDER BY seq"))]


def test_the_same_key_twice_stores_one_and_other_content_is_409(api: Any, twin: str) -> None:
    first = add(api, COVARIATES)
    again = add(api, COVARIATES)
    assert first.status_code == again.status_code == 201
    assert again.json()["stored"] == [] and sorted(again.json()["already_stored"]) == sorted(
        first.json()["stored"]
    )
    changed = [{**COVARIATES[2], "value": 81}]
    r = add(api, changed)
    assert r.status_code == 409 and r.json()["audit_id"]


def test_without_consent_for_a_category_nothing_is_stored(api: Any) -> None:
    prepare_patient(api, "p-1", ["demographics", "labs", "medication"])
    api.client.post(P + "/twins", json={"model": VANCO, "purpose": "treatment"},
                    headers=api.clinician)  # fmt: skip
    dialysis = obs("dx", "dialysis_status", "2026-03-01T06:00:00Z", value="none")
    r = add(api, [COVARIATES[0], dialysis])
    assert r.status_code == 403, r.text
    assert "history" in r.json()["detail"] and r.json()["audit_id"]
    assert add(api, [COVARIATES[0]]).json()["stored"]  # the covered one alone is stored
    assert "observation.withheld" in audit_actions(api)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (obs("x", "serum_creatinine", "2026-03-01T06:00:00Z", value=1, unit="mmol/mol"),
         "observations[0].unit"),
        (obs("x", "serum_creatinine", "2026-03-01T06:00:00Z", value=88.4, unit="mg/dL"),
         "observations[0].value"),
        (obs("x", "weight", "2026-03-01T06:00:00", value=80, unit="kg"), "observations[0].time"),
    ],
)  # fmt: skip
def test_bad_units_and_values_are_422_naming_the_field(
    api: Any, twin: str, bad: dict[str, Any], field: str
) -> None:
    r = add(api, [bad])
    assert r.status_code == 422 and r.json()["field"] == field


def test_insufficient_data_is_422_saying_what_is_missing(api: Any, twin: str) -> None:
    add(api, COVARIATES[:3] + DOSES)
    r = calibrate(api, twin)
    assert r.status_code == 422 and "serum_creatinine" in r.json()["field"]
    add(api, COVARIATES[3:])
    r = calibrate(api, twin)
    assert r.status_code == 422 and r.json()["field"] == "levels"
    assert "missing" in r.json()["detail"]


@pytest.mark.parametrize(
    ("kind", "value"),
    [("dialysis_status", "continuous_renal_replacement"),
     ("dialysis_status", "peritoneal_dialysis"), ("ecmo", "on"), ("pregnancy", "pregnant")],
)  # fmt: skip
def test_outside_the_model_the_twin_withholds_and_says_why(
    api: Any, twin: str, kind: str, value: str
) -> None:
    add(api, COVARIATES + DOSES + LEVELS + [obs("z", kind, "2026-03-01T07:00:00Z", value=value)])
    r = calibrate(api, twin)
    assert r.status_code == 403, r.text
    assert "not fitted on" in r.json()["detail"] and r.json()["audit_id"]


def test_a_suspended_version_serves_nothing(api: Any, twin: str) -> None:
    add(api, COVARIATES + DOSES + LEVELS)
    version = api.client.get(f"{P}/twins/{twin}/thread", headers=api.clinician).json()
    api.service.suspend(Principal("erin", "ethics_board"), VANCO, version["model_version"], "x")
    r = calibrate(api, twin)
    assert r.status_code == 403 and "suspended" in r.json()["detail"]


def test_an_erased_patient_is_unreadable_and_refused(api: Any, twin: str) -> None:
    add(api, COVARIATES + DOSES + LEVELS)
    assert calibrate(api, twin).status_code == 201
    r = api.client.post(P + "/erase?site=st-mary", json={"reason": "patient's request"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 403
    r = api.client.post(P + "/erase?site=st-mary", json={"reason": "patient's request"},
                        headers=api.admin)  # fmt: skip
    assert r.status_code == 200, r.text
    assert add(api, COVARIATES).status_code == 409
    assert calibrate(api, twin).status_code == 409
    assert api.client.get(f"{P}/twins/{twin}/thread", headers=api.clinician).status_code == 409
    assert verify(api.service.engine).ok
