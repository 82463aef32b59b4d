"""The released path through the real app: exact SHAP values, additivity, survival."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
import shap

from api.cli.demo import CLINICIAN, SITE
from models.demo_twins import DemoTwin
from tests.api.helpers import GATE_ORDER, features_of, prepare_patient, run_sql, twin_named


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


def test_released_random_forest_with_exact_tree_shap(api: Any, demo_twins: list[DemoTwin]) -> None:
    """The forest computes in float64: its attributions must equal shap's own
    path-dependent TreeSHAP on the same row to float64 precision (the additivity
    tolerance of float64 models, 1e-9 of the scale), not merely to XGBoost's 1e-5."""
    twin = twin_named(demo_twins, "diabetes-progression")
    prepare_patient(api, "p-1", list(twin.card.data_categories))
    features = features_of(twin, 3)
    response = _predict(api, twin.name, features)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "released"
    assert body["model_version"] == "1"
    assert body["prediction"]["kind"] == "value"
    expl = body["explanation"]
    assert expl["output_space"] == "raw"
    names = list(twin.card.feature_names)
    assert list(expl["contributions"]) == names
    row = np.array([[features[n] for n in names]], dtype=np.float64)
    explainer = shap.TreeExplainer(twin.model)
    reference = np.asarray(explainer.shap_values(row))[0]
    reference_base = float(np.asarray(explainer.expected_value).reshape(-1)[0])
    output = float(np.asarray(twin.model.predict(row)).reshape(-1)[0])
    got = np.array([expl["contributions"][n] for n in names])
    scale = max(1.0, float(np.abs(reference).sum()), abs(output))
    tol = 1e-9 * scale
    np.testing.assert_allclose(got, reference, rtol=0, atol=tol)
    assert abs(expl["base_value"] - reference_base) <= tol
    assert abs(expl["output_value"] - output) <= tol
    assert abs(body["prediction"]["value"] - output) <= tol
    total = expl["base_value"] + sum(expl["contributions"].values())
    assert abs(total - expl["output_value"]) <= tol


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
    # each patient's 90% range, as the version's registered method finds it
    found = body["prediction"]["range"]
    assert twin.uncertainty is not None
    row = [features_of(twin, 1)[n] for n in twin.card.feature_names]
    expected = twin.uncertainty.range_for(row, body["prediction"]["value"]).to_dict()
    assert found == pytest.approx(expected)
    assert (
        found["level"] == 0.9
        and found["of"]
        == {
            "whas500-mortality-logit": "probability",
            "gbsg2-recurrence": "survival_probability",
            "diabetes-progression": "value",
        }[name]
    )


def test_plot_svg_on_request(api: Any, demo_twins: list[DemoTwin]) -> None:
    twin = twin_named(demo_twins, "whas500-mortality")
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    response = _predict(api, twin.name, features_of(twin, 0), plot="svg")
    assert response.status_code == 200, response.text
    assert "<svg" in response.json()["explanation"]["plot_svg"]


def _number_tokens(value: float) -> set[str]:
    """How ``value`` would be written into an audit body: ``repr`` of the float (what
    canonical JSON writes for a float) and the JSON number form of the value as sent."""
    return {repr(float(value)), json.dumps(float(value)), json.dumps(value)}


def _holds_number(text: str, token: str) -> bool:
    """``token`` occurs in ``text`` as a whole number (not inside a longer number, a hex
    digest or an exponent: ``1.0`` is not found in ``1.0e-05`` nor ``21.05``)."""
    return re.search(rf"(?<![\w.]){re.escape(token)}(?![\w.])", text) is not None


def test_released_decision_is_audited_without_raw_features(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, "whas500-mortality")
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    features = features_of(twin, 2)
    head = api.service.audit.head()[0]
    response = _predict(api, twin.name, features)
    assert response.status_code == 200, response.text
    released = response.json()
    audit_id = released["audit_id"]
    records = api.client.get(
        "/v1/audit/records", params={"action": "prediction"}, headers=api.ethics
    ).json()
    record = next(r for r in records if r["record_id"] == audit_id)
    assert record["decision"] == "released"
    assert record["model_version"] == "1"
    assert [c["check"] for c in record["checks"]] == GATE_ORDER
    assert record["checks"][0]["rule"] == ["clinician", "own", "model/*", "predict"]
    assert record["input_digest"] and record["output_digest"]
    assert record["principal"] == {"user": CLINICIAN.user, "role": "clinician", "site": SITE}

    # Every record the request wrote, as stored: the canonical JSON body that was hashed.
    stored = run_sql(
        api.service.settings.governance_url,
        "SELECT seq, record_id, action, body FROM audit_record WHERE seq > :head ORDER BY seq",
        head=head,
    )
    assert stored, "the request wrote no audit record"
    assert [(r[1], r[2]) for r in stored if r[1] == audit_id] == [(audit_id, "prediction")]
    assert json.loads(next(r[3] for r in stored if r[1] == audit_id))["payload"] == {
        k: v
        for k, v in record.items()
        if k not in ("seq", "record_id", "at", "action", "hash", "prev_hash")
    }
    expl = released["explanation"]
    secrets = {f"feature {name}": value for name, value in features.items()}
    secrets.update({f"contribution of {n}": v for n, v in expl["contributions"].items()})
    secrets["output value"] = expl["output_value"]
    secrets["prediction"] = released["prediction"]["value"]
    tokens: dict[str, list[str]] = {}
    for what, value in secrets.items():
        for token in _number_tokens(value):
            tokens.setdefault(token, []).append(what)
    for _seq, record_id, action, body in stored:
        assert "p-1" not in body, (action, body)
        leaked = {t: whats for t, whats in tokens.items() if _holds_number(body, t)}
        assert not leaked, f"audit record {record_id} ({action}) holds {leaked}: {body}"


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
