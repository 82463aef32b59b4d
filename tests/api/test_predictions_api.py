"""The released path through the real app: exact SHAP values, additivity, survival."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shap

from api.demo import CLINICIAN, SITE
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, twin_named


def _predict(
    api: Any,
    model: str,
    features: dict[str, float],
    patient: str = "p-1",
    purpose: str = "treatment",
    **extra: Any,
) -> Any:
    body = {
        "model": model,
        "patient_id": patient,
        "purpose": purpose,
        "features": features,
        **extra,
    }
    return api.client.post("/v1/predictions", json=body, headers=api.clinician)


def test_released_xgboost_with_exact_tree_shap(api: Any, demo_twins: list[DemoTwin]) -> None:
    twin = twin_named(demo_twins, "whas500-mortality")
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    features = features_of(twin, 3)
    response = _predict(api, twin.name, features)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "released"
    assert body["audit_id"]
    assert body["model_version"] == "1"
    assert body["prediction"]["kind"] == "probability"
    expl = body["explanation"]
    assert expl["output_space"] == "log_odds"
    row = np.array([[features[n] for n in twin.card.feature_names]])
    reference = shap.TreeExplainer(twin.model).shap_values(row)[0]
    got = np.array([expl["contributions"][n] for n in twin.card.feature_names])
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-5)
    total = expl["base_value"] + sum(expl["contributions"].values())
    assert abs(total - expl["output_value"]) <= 1e-5 * max(1.0, abs(expl["output_value"]))
    p = 1.0 / (1.0 + np.exp(-expl["output_value"]))
    assert body["prediction"]["value"] == pytest.approx(p, rel=1e-5)
    # no raw features in the response beyond the contributions' names
    assert "features" not in body


@pytest.mark.parametrize(
    "name,space,kind",
    [
        ("whas500-mortality-logit", "log_odds", "probability"),
        ("gbsg2-recurrence", "log_partial_hazard", "risk_score"),
        ("diabetes-progression", "raw", "value"),
    ],
)
def test_released_for_every_kind(
    api: Any, demo_twins: list[DemoTwin], name: str, space: str, kind: str
) -> None:
    twin = twin_named(demo_twins, name)
    prepare_patient(api, "p-1", list(twin.card.data_categories))
    response = _predict(api, name, features_of(twin, 1))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["explanation"]["output_space"] == space
    assert body["prediction"]["kind"] == kind
    expl = body["explanation"]
    total = expl["base_value"] + sum(expl["contributions"].values())
    tol = 1e-9 * max(
        1.0, abs(expl["output_value"]), sum(abs(v) for v in expl["contributions"].values())
    )
    assert abs(total - expl["output_value"]) <= tol
    if name == "gbsg2-recurrence":
        survival = body["prediction"]["survival_probability"]
        assert 0.0 < survival < 1.0


def test_plot_svg_on_request(api: Any, demo_twins: list[DemoTwin]) -> None:
    twin = twin_named(demo_twins, "whas500-mortality")
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    response = _predict(api, twin.name, features_of(twin, 0), plot="svg")
    assert response.status_code == 200, response.text
    assert "<svg" in response.json()["explanation"]["plot_svg"]


def test_released_decision_is_audited_without_raw_features(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, "whas500-mortality")
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    features = features_of(twin, 2)
    audit_id = _predict(api, twin.name, features).json()["audit_id"]
    records = api.client.get(
        "/v1/audit/records", params={"action": "prediction"}, headers=api.ethics
    ).json()
    record = next(r for r in records if r["record_id"] == audit_id)
    assert record["decision"] == "released"
    assert record["model_version"] == "1"
    assert [c["check"] for c in record["checks"]] == [
        "role",
        "purpose",
        "site",
        "consent",
        "approval",
        "bias_audit",
        "envelope",
        "explanation",
    ]
    assert record["checks"][0]["rule"] == ["clinician", "own", "model/*", "predict"]
    assert "p-1" not in str(record)
    text = str(record)
    for value in features.values():
        assert f"'{value}'" not in text
    assert record["input_digest"] and record["output_digest"]
    assert record["principal"] == {"user": CLINICIAN.user, "role": "clinician", "site": SITE}


def test_environment_difference_is_a_warning_in_response_and_audit(
    api: Any, demo_twins: list[DemoTwin], monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry.store
    from models.environment import build_environment

    changed = dict(build_environment(), xgboost="0.0.1")
    monkeypatch.setattr(registry.store, "build_environment", lambda: changed)
    twin = twin_named(demo_twins, "whas500-mortality")
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    response = _predict(api, twin.name, features_of(twin, 0))
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    assert any("xgboost" in w for w in warnings), warnings
    record = api.service.audit.records(action="prediction", limit=1000)[-1]
    assert any("xgboost" in w for w in record["warnings"])
