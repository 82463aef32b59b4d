"""A move whose recalibration under the target version does not converge
(:mod:`api.composition.twin_moves`) moves nothing: 422 naming the solver's words, one
``twin.move.failed`` record saying why, the twin still on its version with its one state.
The fit is made to fail by capping the dosing solver's iterations (a test-only setting)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

import models.dosing.calibration as solver
from models.demo_twins import DemoTwin
from tests.api.helpers import prepare_patient
from tests.api.http.test_twin_move_api import P, approve_another_version, move
from tests.api.twin_course import COVARIATES, DOSES, LEVELS, TWIN_CATEGORIES, VANCO


def test_a_move_that_does_not_converge_moves_nothing_and_says_why(
    api: Any, mechanistic_twins: list[DemoTwin], monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare_patient(api, "p-1", TWIN_CATEGORIES)
    r = api.client.post(P + "/twins", json={"model": VANCO, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    twin_id, old = r.json()["twin_id"], r.json()["model_version"]
    r = api.client.post(P + "/observations", json={"observations": COVARIATES + DOSES + LEVELS},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    r = api.client.post(f"{P}/twins/{twin_id}/calibrations", headers=api.clinician)
    assert r.status_code == 201, r.text
    new = approve_another_version(api, next(t for t in mechanistic_twins if t.name == VANCO))
    monkeypatch.setattr(solver, "MAX_ITERATIONS", 1)
    r = move(api, twin_id, reason="v2 approved")
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["field"] == "observations" and problem["audit_id"]
    assert f"the calibration under version {new} did not converge" in problem["detail"]
    stays = f"no convergence in 1 iterations): twin {twin_id} stays on version {old}"
    assert stays in problem["detail"]
    with api.service.engine.connect() as conn:
        rows = conn.execute(text("SELECT record_id, body FROM audit_record WHERE action = "
                                 "'twin.move.failed'")).all()  # fmt: skip
    assert [row[0] for row in rows] == [problem["audit_id"]]
    why = ('"reason":"not_converged"', '"solver":"no convergence in 1 iterations"')
    for fragment in (f'"to_version":"{new}"', f'"twin":"{twin_id}"', *why):
        assert fragment in rows[0][1], rows[0][1]
    thread = api.client.get(f"{P}/twins/{twin_id}/thread", headers=api.clinician).json()
    assert thread["model_version"] == old and thread["state"] == 1
    assert [rec["kind"] for rec in thread["records"]].count("move") == 0
