"""Mechanistic twins through the real app: named outputs, trajectories, simulations."""

from __future__ import annotations

from typing import Any

import pytest

from governance.identity.principal import Principal
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, twin_named

VANCO = "vancomycin-auc"
CATS = ["demographics", "labs", "medication"]


@pytest.fixture()
def vanco(mechanistic_twins: list[DemoTwin]) -> DemoTwin:
    return twin_named(mechanistic_twins, VANCO)


def post(api: Any, path: str, body: dict[str, Any]) -> Any:
    return api.client.post(path, json=body, headers=api.clinician)


def test_explained_auc24_with_trajectory(api: Any, vanco: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS)
    r = post(
        api,
        "/v1/predictions",
        {
            "model": VANCO,
            "patient_id": "p-1",
            "purpose": "treatment",
            "features": features_of(vanco),
            "trajectory": True,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["prediction"]["output"] == "auc24"
    expl = body["explanation"]
    assert expl["output_space"] == "raw"
    total = expl["base_value"] + sum(expl["contributions"].values())
    assert abs(total - expl["output_value"]) <= 1e-9 * max(1.0, abs(expl["output_value"]))
    assert body["prediction"]["value"] == pytest.approx(expl["output_value"])
    assert set(expl["contributions"]) == set(vanco.card.feature_names)
    curve = body["prediction"]["trajectory"]
    assert 2 <= len(curve["t"]) == len(curve["y"]) <= 200
    assert min(curve["y"]) >= 0.0


def test_output_chosen_by_the_request(api: Any, vanco: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS)
    base = {
        "model": VANCO,
        "patient_id": "p-1",
        "purpose": "treatment",
        "features": features_of(vanco),
    }
    auc = post(api, "/v1/predictions", base).json()["prediction"]["value"]
    trough = post(api, "/v1/predictions", {**base, "output": "trough"})
    assert trough.status_code == 200, trough.text
    assert trough.json()["prediction"]["output"] == "trough"
    assert trough.json()["prediction"]["value"] < auc
    bad = post(api, "/v1/predictions", {**base, "output": "volume"})
    assert bad.status_code == 422 and bad.json()["field"] == "output"


def test_output_option_refused_for_statistical_twins(api: Any, demo_twins: list[Any]) -> None:
    whas = twin_named(demo_twins, "whas500-mortality")
    r = post(
        api,
        "/v1/predictions",
        {
            "model": whas.name,
            "patient_id": "p-1",
            "purpose": "treatment",
            "features": features_of(whas),
            "output": "auc24",
        },
    )
    assert r.status_code == 422


def test_negative_dose_names_the_field(api: Any, vanco: DemoTwin) -> None:
    features = {**features_of(vanco), "dose_mg": -500.0}
    r = post(
        api,
        "/v1/predictions",
        {"model": VANCO, "patient_id": "p-1", "purpose": "treatment", "features": features},
    )
    assert r.status_code == 422 and r.json()["field"] == "features.dose_mg"
    assert "allowed range" in r.json()["detail"]


def test_two_regimens_side_by_side(api: Any, vanco: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS)
    r = post(
        api,
        "/v1/simulations",
        {
            "model": VANCO,
            "patient_id": "p-1",
            "purpose": "treatment",
            "features": features_of(vanco),
            "scenarios": [
                {"name": "1 g q12h", "features": {"dose_mg": 1000, "interval_h": 12}},
                {"name": "1.5 g q24h", "features": {"dose_mg": 1500, "interval_h": 24}},
            ],
        },
    )
    assert r.status_code == 200, r.text
    scenarios = r.json()["scenarios"]
    assert [s["name"] for s in scenarios] == ["1 g q12h", "1.5 g q24h"]
    assert scenarios[0]["prediction"]["value"] > scenarios[1]["prediction"]["value"]
    assert all(s["audit_id"] and s["prediction"]["trajectory"]["t"] for s in scenarios)
    ids = {s["audit_id"] for s in scenarios}
    records = [
        x
        for x in api.service.audit.records(action="simulation", limit=100)
        if x["record_id"] in ids
    ]
    assert len(records) == 2 and all(x["decision"] == "released" for x in records)


def test_simulation_refusals(
    api: Any, vanco: DemoTwin, demo_twins: list[Any], mechanistic_twins: list[DemoTwin]
) -> None:
    prepare_patient(api, "p-1", [*CATS, "imaging", "history"])
    base = {
        "model": VANCO,
        "patient_id": "p-1",
        "purpose": "treatment",
        "features": features_of(vanco),
    }
    one = [{"name": "a", "features": {}}]
    assert post(api, "/v1/simulations", {**base, "scenarios": []}).status_code == 422
    too_many = [{"name": str(i), "features": {}} for i in range(6)]
    assert post(api, "/v1/simulations", {**base, "scenarios": too_many}).status_code == 422
    neg = [{"name": "a", "features": {"dose_mg": -1}}]
    assert post(api, "/v1/simulations", {**base, "scenarios": neg}).status_code == 422
    whas = twin_named(demo_twins, "whas500-mortality")
    r = post(
        api,
        "/v1/simulations",
        {**base, "model": whas.name, "features": features_of(whas), "scenarios": one},
    )
    assert r.status_code == 422
    # every refusal names its field and is audited (the refusal alone is written)
    before = api.service.audit.count()
    for body, field in (
        ({**base, "scenarios": []}, "scenarios"),
        ({**base, "model": "no-such-model", "scenarios": one}, "model"),
        ({**base, "version": "99", "scenarios": one}, "version"),
        ({**base, "model": whas.name, "features": features_of(whas), "scenarios": one}, "model"),
    ):
        r = post(api, "/v1/simulations", body)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        refusal = api.service.audit.records(action="simulation.refused")[-1]
        assert refusal["record_id"] == r.json()["audit_id"]
        assert refusal["field"] == field
    assert api.service.audit.count() == before + 4
    # A suspended mechanistic twin simulates nothing (the stop button holds here too).
    radio = twin_named(mechanistic_twins, "radiotherapy-response")
    api.service.suspend(Principal("erin", "ethics_board"), radio.name, "1", "dose audit")
    r = post(
        api,
        "/v1/simulations",
        {**base, "model": radio.name, "features": features_of(radio), "scenarios": one},
    )
    assert r.status_code == 403, r.text
    assert r.json()["reasons"][0]["check"] == "approval"
    assert "prediction" not in r.text


GLUCOSE = "glucose-t1d-tir"


def test_explained_time_in_range_with_glucose_trace(
    api: Any, mechanistic_twins: list[DemoTwin]
) -> None:
    """The glucose twin passed its bias audit in the template and is served: an explained
    time in range for a 24 h day, the glucose trace on request, another output by name."""
    twin = twin_named(mechanistic_twins, GLUCOSE)
    prepare_patient(api, "p-9", ["labs", "medication", "history"])
    body = {
        "model": GLUCOSE,
        "patient_id": "p-9",
        "purpose": "treatment",
        "features": features_of(twin),
        "trajectory": True,
    }
    r = post(api, "/v1/predictions", body)
    assert r.status_code == 200, r.text
    prediction, expl = r.json()["prediction"], r.json()["explanation"]
    assert prediction["output"] == "time_in_range" and 0.0 <= prediction["value"] <= 100.0
    total = expl["base_value"] + sum(expl["contributions"].values())
    assert abs(total - expl["output_value"]) <= 1e-9 * max(1.0, abs(expl["output_value"]))
    assert set(expl["contributions"]) == {"subject", "carbs_g", "bolus_u", "basal_u_per_h"}
    trace = prediction["trajectory"]
    assert len(trace["t"]) <= 200 and trace["t"][-1] == pytest.approx(24.0)
    assert min(trace["y"]) > 0.0
    mean = post(api, "/v1/predictions", {**body, "output": "mean_glucose", "trajectory": False})
    assert mean.status_code == 200, mean.text
    assert 70.0 < mean.json()["prediction"]["value"] < 250.0


@pytest.mark.parametrize(
    ("feature", "value"), [("bolus_u", -2.0), ("carbs_g", 400.0), ("subject", 40.0)]
)
def test_bad_glucose_input_names_the_field_and_range(
    api: Any, mechanistic_twins: list[DemoTwin], feature: str, value: float
) -> None:
    twin = twin_named(mechanistic_twins, GLUCOSE)
    features = {**features_of(twin), feature: value}
    r = post(
        api,
        "/v1/predictions",
        {"model": GLUCOSE, "patient_id": "p-9", "purpose": "treatment", "features": features},
    )
    assert r.status_code == 422 and r.json()["field"] == f"features.{feature}"
    assert "allowed range" in r.json()["detail"]


def test_the_card_says_creatinine_clearance_is_capped_at_150(api: Any, vanco: DemoTwin) -> None:
    """The served card states the source model's cap (the version page: test_pages_http)."""
    r = api.client.get(f"/v1/models/{VANCO}/versions/1", headers=api.validator)
    assert r.status_code == 200, r.text
    (crcl,) = [f for f in r.json()["card"]["features"] if f["name"] == "creatinine_clearance"]
    assert crcl["clamp"] == [5.0, 150.0] and "150" in crcl["description"]
