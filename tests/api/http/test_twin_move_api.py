"""Moving a patient twin to a newly approved version (issue 14): once another version of
its model is approved, the twin's own version serves nothing; the move recalibrates it
from its observations under the new version, through the gate, and the thread records
it. A move needs a reason, an approved target and a complete twin; a refused move
changes nothing."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy import text

from api.cli.demo import DATA_SCIENTIST, VALIDATOR
from governance.identity.principal import Principal
from models.demo_twins import DemoTwin
from tests.api.helpers import prepare_patient
from tests.api.twin_course import COVARIATES, DOSES, LEVELS, TWIN_CATEGORIES, VANCO

P = "/v1/patients/p-1"


def approve_another_version(api: Any, twin: DemoTwin) -> str:
    """Register, audit, validate and approve a second version of ``twin`` (it supersedes
    the first); returns its version."""
    background = pd.DataFrame(twin.background, columns=list(twin.card.feature_names))
    service = api.service
    rv = service.register_version(DATA_SCIENTIST, twin.name, twin.card.kind, twin.model,
                                  twin.card, twin.evaluation, background)  # fmt: skip
    assert service.run_bias_audit(VALIDATOR, twin.name, rv.version)["passed"]
    assert service.run_dossier(VALIDATOR, twin.name, rv.version)["passed"]
    service.approve(VALIDATOR, twin.name, rv.version, "a new version")
    return str(rv.version)


@pytest.fixture()
def calibrated(api: Any) -> dict[str, Any]:
    prepare_patient(api, "p-1", TWIN_CATEGORIES)
    r = api.client.post(P + "/twins", json={"model": VANCO, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    twin: dict[str, Any] = r.json()
    r = api.client.post(P + "/observations", json={"observations": COVARIATES + DOSES + LEVELS},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    r = api.client.post(f"{P}/twins/{twin['twin_id']}/calibrations", headers=api.clinician)
    assert r.status_code == 201, r.text
    twin["first_state"] = r.json()
    return twin


def move(api: Any, twin_id: str, **body: Any) -> Any:
    return api.client.post(f"{P}/twins/{twin_id}/moves", json=body, headers=api.clinician)


REGIMEN = {"dose_mg": 1250, "interval_h": 12, "n_doses": 4, "start": "2026-03-03T08:00:00Z"}


def test_a_twin_moves_to_the_newly_approved_version_recalibrated(
    api: Any, calibrated: dict[str, Any], mechanistic_twins: list[DemoTwin]
) -> None:
    twin_id, old = calibrated["twin_id"], calibrated["model_version"]
    new = approve_another_version(api, next(t for t in mechanistic_twins if t.name == VANCO))
    # its own version is superseded: it serves nothing until moved
    r = api.client.post(f"{P}/twins/{twin_id}/forecasts", json=REGIMEN, headers=api.clinician)
    assert r.status_code == 403, r.text
    r = move(api, twin_id, reason="v2 approved by the pharmacy committee")
    assert r.status_code == 201, r.text
    moved = r.json()
    assert moved["twin"]["model_version"] == new and moved["twin"]["state"] == 2
    assert moved["move"]["body"] == {"from_version": old, "to_version": new, "state": 2,
                                     "reason": "v2 approved by the pharmacy committee"}  # fmt: skip
    state = moved["state"]
    assert state["number"] == 2 and state["status"] == "converged"
    # recalibrated from the same observations: the same estimate (the prior is the kernel's)
    assert state["body"]["observation_ids"] == calibrated["first_state"]["body"]["observation_ids"]
    assert state["body"]["posterior"] == calibrated["first_state"]["body"]["posterior"]
    r = api.client.post(f"{P}/twins/{twin_id}/forecasts", json=REGIMEN, headers=api.clinician)
    assert r.status_code == 201, r.text
    assert r.json()["body"]["state"] == 2
    thread = api.client.get(f"{P}/twins/{twin_id}/thread", headers=api.clinician).json()
    assert thread["model_version"] == new
    kinds = [rec["kind"] for rec in thread["records"]]
    assert kinds.count("move") == 1 and kinds.count("state") == 2
    with api.service.engine.connect() as conn:
        rows = conn.execute(text("SELECT action, body FROM audit_record WHERE action LIKE "
                                 "'twin.mov%' ORDER BY seq")).all()  # fmt: skip
    assert [r[0] for r in rows] == ["twin.move", "twin.moved"]
    assert f'"to_version":"{new}"' in rows[1][1] and "pharmacy" not in rows[1][1]


def test_a_refused_move_changes_nothing(
    api: Any, calibrated: dict[str, Any], mechanistic_twins: list[DemoTwin]
) -> None:
    twin_id, old = calibrated["twin_id"], calibrated["model_version"]
    # already on the approved version
    r = move(api, twin_id, reason="again")
    assert r.status_code == 409 and f"already on version {old}" in r.json()["detail"]
    # no reason
    r = move(api, twin_id, reason="  ")
    assert r.status_code == 422 and r.json()["field"] == "reason"
    # a version that does not exist
    r = move(api, twin_id, reason="x", version="99")
    assert r.status_code == 422 and r.json()["field"] == "version"
    new = approve_another_version(api, next(t for t in mechanistic_twins if t.name == VANCO))
    # a suspended target is refused by the gate (audited)
    api.service.suspend(Principal("erin", "ethics_board"), VANCO, new, "recall")
    r = move(api, twin_id, reason="x", version=new)
    assert r.status_code == 403 and "suspended" in r.json()["detail"] and r.json()["audit_id"]
    # a data scientist may not move a patient's twin
    r = api.client.post(f"{P}/twins/{twin_id}/moves", json={"reason": "x"},
                        headers=api.data_scientist)  # fmt: skip
    assert r.status_code == 403
    thread = api.client.get(f"{P}/twins/{twin_id}/thread", headers=api.clinician).json()
    assert thread["model_version"] == old and thread["state"] == 1
    assert [rec["kind"] for rec in thread["records"]].count("move") == 0
