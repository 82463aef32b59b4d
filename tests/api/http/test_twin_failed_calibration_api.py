"""A calibration that does not converge (issue 14) is stored as a failed state, answered
422 and never served: no forecast or recommendation uses it, the thread shows it, and the
next converged state serves. The fit is made to fail by capping the solver's iterations
below what the data need (a test-only setting: the Newton search's ``MAX_ITERATIONS``)."""

from __future__ import annotations

from typing import Any

import pytest

import models.dosing.calibration as solver
from tests.api.twin_course import (
    COVARIATES,
    DOSES,
    LEVELS,
    P1,
    add,
    audit_body,
    calibrate,
    new_twin,
)

REGIMEN = {"dose_mg": 1250, "interval_h": 12, "n_doses": 4, "start": "2026-03-03T08:00:00Z"}


@pytest.mark.parametrize("cap", [1, 2])
def test_a_fit_that_does_not_converge_is_stored_failed_422_and_never_served(
    api: Any, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    twin = new_twin(api)
    assert add(api, COVARIATES + DOSES + LEVELS).status_code == 201
    monkeypatch.setattr(solver, "MAX_ITERATIONS", cap)
    r = calibrate(api, twin)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert "did not converge" in problem["detail"] and "never served" in problem["detail"]
    assert f"no convergence in {cap} iterations" in problem["detail"] and problem["audit_id"]
    record = audit_body(api, problem["audit_id"])  # says why: class and the solver's words
    assert record["action"] == "twin.calibration.failed" and record["state"] == 1
    assert record["reason"] == "not_converged"
    assert record["solver"] == f"no convergence in {cap} iterations"
    # nothing is served from the failed state
    for route, body in (("forecasts", REGIMEN), ("recommendations", {})):
        r = api.client.post(f"{P1}/twins/{twin}/{route}", json=body, headers=api.clinician)
        assert r.status_code == 422, r.text
        assert "no converged calibration" in r.json()["detail"]
    thread = api.client.get(f"{P1}/twins/{twin}/thread", headers=api.clinician).json()
    states = [rec for rec in thread["records"] if rec["kind"] == "state"]
    assert [(s["number"], s["status"]) for s in states] == [(1, "failed")]
    assert states[0]["body"]["posterior"] is None and thread["state"] == 1
    # the next fit converges and is what serves
    monkeypatch.undo()
    r = calibrate(api, twin)
    assert r.status_code == 201 and r.json()["number"] == 2
    r = api.client.post(f"{P1}/twins/{twin}/forecasts", json=REGIMEN, headers=api.clinician)
    assert r.status_code == 201 and r.json()["body"]["state"] == 2
