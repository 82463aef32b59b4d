"""Multi-scenario simulations: every scenario is validated before any is decided, and every
release the audit log records is in the response (issue 13, finding 18)."""

from __future__ import annotations

from typing import Any

import pytest

from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, twin_named

VANCO = "vancomycin-auc"
CATS = ["demographics", "labs", "medication"]
#: Inside the card's allowed range, outside the population envelope (250-2500 mg): the
#: gate withholds it for treatment.
OUTSIDE_ENVELOPE = {"dose_mg": 3900, "interval_h": 12}
INSIDE = ({"dose_mg": 1000, "interval_h": 12}, {"dose_mg": 1500, "interval_h": 24})


@pytest.fixture()
def base(api: Any, mechanistic_twins: list[DemoTwin]) -> dict[str, Any]:
    prepare_patient(api, "p-1", CATS)
    return {
        "model": VANCO,
        "patient_id": "p-1",
        "purpose": "treatment",
        "features": features_of(twin_named(mechanistic_twins, VANCO)),
    }


def _simulation_records(api: Any, since: int) -> list[dict[str, Any]]:
    return [
        r
        for r in api.service.audit.records(limit=10_000)
        if r["seq"] > since and r["action"].startswith("simulation")
    ]


def _head(api: Any) -> int:
    return int(api.service.audit.head()[0])


@pytest.mark.parametrize(
    "scenarios,field",
    [
        ([INSIDE[0], {"dose_mg": -1}], "scenarios[1].features.dose_mg"),
        ([{"dose_mg": -1}, INSIDE[0]], "scenarios[0].features.dose_mg"),
        ([INSIDE[0], INSIDE[1], {"shoe_size": 42}], "scenarios[2].features.shoe_size"),
        ([INSIDE[0], {"interval_h": "daily"}], "scenarios[1].features.interval_h"),
        ([INSIDE[0], {"dose_mg": 10**400}], "scenarios[1].features.dose_mg"),
    ],
)
def test_an_invalid_scenario_anywhere_decides_nothing(
    api: Any, base: dict[str, Any], scenarios: list[dict[str, Any]], field: str
) -> None:
    head = _head(api)
    body = {
        **base,
        "scenarios": [{"name": f"s{i}", "features": f} for i, f in enumerate(scenarios)],
    }
    r = api.client.post("/v1/simulations", json=body, headers=api.clinician)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    records = _simulation_records(api, head)
    assert [x["action"] for x in records] == ["simulation.refused"]
    assert records[0]["record_id"] == r.json()["audit_id"]


@pytest.mark.parametrize("pattern", ["R", "RR", "RW", "WR", "RWR", "WRW", "W", "WW", "RRRRW"])
def test_every_recorded_release_is_returned(api: Any, base: dict[str, Any], pattern: str) -> None:
    """R: a scenario the gate releases, W: one it withholds (outside the envelope)."""
    head = _head(api)
    scenarios = [
        {"name": f"s{i}", "features": INSIDE[i % 2] if kind == "R" else OUTSIDE_ENVELOPE}
        for i, kind in enumerate(pattern)
    ]
    r = api.client.post(
        "/v1/simulations", json={**base, "scenarios": scenarios}, headers=api.clinician
    )
    assert r.status_code == (200 if "R" in pattern else 403), r.text
    body = r.json()
    records = {x["record_id"]: x for x in _simulation_records(api, head)}
    assert len(records) == len(pattern)
    assert [s["name"] for s in body["scenarios"]] == [s["name"] for s in scenarios]
    for kind, shown in zip(pattern, body["scenarios"], strict=True):
        record = records.pop(shown["audit_id"])
        assert record["decision"] == shown["decision"]
        if kind == "R":
            assert shown["decision"] == "released"
            assert shown["prediction"]["trajectory"]["t"] and shown["explanation"]
        else:
            assert shown["decision"] == "withheld"
            assert shown["reasons"][0]["check"] == "envelope"
            assert "prediction" not in shown and "explanation" not in shown
    assert not records  # every record of this request is in the response
    expected = {"R": "released", "W": "withheld"}
    assert body["decision"] == (
        expected[pattern[0]] if len(set(pattern)) == 1 else "partially_released"
    )
    if "R" in pattern:
        assert body["model"] == VANCO and body["model_version"] == "1"
    else:
        assert body["reasons"][0]["check"] == "envelope"
        assert body["audit_id"] == body["scenarios"][0]["audit_id"]
